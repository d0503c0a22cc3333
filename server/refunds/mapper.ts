// Refund rows ↔ API messages.
import { Refund } from "../../gen/payments/v1/refunds";
import { bool } from "../db/knex";
import { fromJson } from "../db/resources";
import { toCanonicalJson } from "../json";

/** A row of `refunds`. */
export interface RefundRow {
  seq: number;
  id: string;
  merchant_id: string;
  livemode: boolean | number;
  charge: string;
  payment_intent: string;
  amount: number;
  currency: string;
  reason: string | null;
  status: string;
  metadata: string;
  created: number;
}

/** The API message of a refund row. */
export function toRefund(row: RefundRow): Refund {
  return {
    id: row.id,
    object: "refund",
    amount: Number(row.amount),
    charge: row.charge,
    created: Number(row.created),
    currency: row.currency,
    reason: row.reason ?? undefined,
    status: row.status,
    metadata: fromJson(row.metadata, {}),
    payment_intent: row.payment_intent,
    livemode: bool(row.livemode),
  };
}

/** A refund as event JSON. */
export function refundJson(r: Refund) {
  return toCanonicalJson("payments.v1.Refund", Refund, r);
}
