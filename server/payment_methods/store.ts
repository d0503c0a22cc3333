// Payment method queries, scoped by merchant and mode.
import type { Knex } from "knex";
import { resourceMissing } from "../errors";
import type { Scope } from "../db/resources";
import type { PaymentMethodRow } from "./mapper";

/** A payment method in scope, or resource_missing naming `param`. */
export async function loadPaymentMethod(db: Knex | Knex.Transaction, scope: Scope, id: string, param = "id"): Promise<PaymentMethodRow> {
  const row = (await db("payment_methods").where({ id, merchant_id: scope.merchantId, livemode: scope.livemode }).first()) as
    | PaymentMethodRow
    | undefined;
  if (!row) throw resourceMissing("payment_method", id, param);
  return row;
}
