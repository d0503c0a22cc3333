// Payment method queries, scoped by merchant and mode.
import type { Knex } from "knex";
import { resourceMissing } from "../errors";
import { inserter, type Scope } from "../db/resources";
import type { PaymentMethodRow } from "./mapper";

/** A payment method in scope, or resource_missing naming `param`. */
export async function loadPaymentMethod(db: Knex | Knex.Transaction, scope: Scope, id: string, param = "id"): Promise<PaymentMethodRow> {
  const row = (await db("payment_methods").where({ id, merchant_id: scope.merchantId, livemode: scope.livemode }).first()) as
    | PaymentMethodRow
    | undefined;
  if (!row) throw resourceMissing("payment_method", id, param);
  return row;
}

/** The columns of `payment_methods` (the PaymentMethodRow fields), for queries that select them under an alias. */
export const PAYMENT_METHOD_COLUMNS = [
  "seq",
  "id",
  "merchant_id",
  "livemode",
  "type",
  "brand",
  "last4",
  "exp_month",
  "exp_year",
  "fingerprint",
  "funding",
  "country",
  "test_behavior",
  "billing_details",
  "metadata",
  "customer",
  "created",
] as const satisfies ReadonlyArray<keyof PaymentMethodRow>;

/** Inserts a new payment method (its `seq` comes from the database). */
export const insertPaymentMethod = inserter<Omit<PaymentMethodRow, "seq">>(
  "payment_methods",
  PAYMENT_METHOD_COLUMNS.filter((c) => c !== "seq") as Array<keyof Omit<PaymentMethodRow, "seq">>,
);
