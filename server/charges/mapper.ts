// Charge rows ↔ API messages.
import { Charge, type ChargePaymentMethod } from "../../gen/payments/v1/charges";
import { bool } from "../db/knex";
import { fromJson } from "../db/resources";
import { toCanonicalJson } from "../json";

/** A row of `charges`. */
export interface ChargeRow {
  seq: number;
  id: string;
  merchant_id: string;
  livemode: boolean | number;
  payment_intent: string;
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  currency: string;
  status: "succeeded" | "pending" | "failed";
  captured: boolean | number;
  refunded: boolean | number;
  disputed: boolean | number;
  payment_method: string;
  failure_code: string | null;
  failure_message: string | null;
  decline_code: string | null;
  customer: string | null;
  description: string | null;
  created: number;
}

/** The API message of a charge row; `publicBaseUrl` builds its receipt_url. */
export function toCharge(row: ChargeRow, publicBaseUrl: string): Charge {
  return {
    id: row.id,
    object: "charge",
    amount: Number(row.amount),
    amount_captured: Number(row.amount_captured),
    amount_refunded: Number(row.amount_refunded),
    currency: row.currency,
    status: row.status,
    captured: bool(row.captured),
    refunded: bool(row.refunded),
    disputed: bool(row.disputed),
    payment_intent: row.payment_intent,
    payment_method: fromJson<ChargePaymentMethod | undefined>(row.payment_method, undefined),
    receipt_url: `${publicBaseUrl}/receipts/${row.id}`,
    created: Number(row.created),
    livemode: bool(row.livemode),
    failure_code: row.failure_code ?? undefined,
    failure_message: row.failure_message ?? undefined,
    customer: row.customer ?? undefined,
    description: row.description ?? undefined,
    decline_code: row.decline_code ?? undefined,
  };
}

/** A charge as event JSON. */
export function chargeJson(c: Charge) {
  return toCanonicalJson("payments.v1.Charge", Charge, c);
}
