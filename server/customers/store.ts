// Customer queries. Every query is scoped by merchant and mode.
import type { Knex } from "knex";
import { resourceMissing } from "../errors";
import type { Scope } from "../db/resources";
import type { CustomerRow } from "./mapper";

/** A live (not deleted) customer in scope, or resource_missing naming `param`. */
export async function loadCustomer(db: Knex | Knex.Transaction, scope: Scope, id: string, param = "id"): Promise<CustomerRow> {
  const row = (await db("customers")
    .where({ id, merchant_id: scope.merchantId, livemode: scope.livemode, deleted: false })
    .first()) as CustomerRow | undefined;
  if (!row) throw resourceMissing("customer", id, param);
  return row;
}

/** Inserts a customer row. */
export async function insertCustomer(db: Knex | Knex.Transaction, row: Omit<CustomerRow, "seq">): Promise<void> {
  await db("customers").insert(row);
}
