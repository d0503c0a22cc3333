// Payment method rows ↔ API messages.
import { PaymentMethod } from "../../gen/payments/v1/payment_methods";
import type { BillingDetails, CardDetails } from "../../gen/payments/v1/common";
import type { TestBehavior } from "../domain/cards";
import { bool } from "../db/knex";
import { fromJson } from "../db/resources";
import { toCanonicalJson } from "../json";

/** A row of `payment_methods`: card facts only, never the number or CVC. */
export interface PaymentMethodRow {
  seq: number;
  id: string;
  merchant_id: string;
  livemode: boolean | number;
  type: string;
  brand: string;
  last4: string;
  exp_month: number;
  exp_year: number;
  fingerprint: string;
  funding: string;
  country: string;
  test_behavior: TestBehavior | null;
  billing_details: string | null;
  metadata: string;
  customer: string | null;
  created: number;
}

/** The card details of a row. */
export function cardOf(row: PaymentMethodRow): CardDetails {
  return {
    brand: row.brand,
    last4: row.last4,
    exp_month: Number(row.exp_month),
    exp_year: Number(row.exp_year),
    fingerprint: row.fingerprint,
    funding: row.funding,
    country: row.country,
  };
}

/** The API message of a payment method row. */
export function toPaymentMethod(row: PaymentMethodRow): PaymentMethod {
  return {
    id: row.id,
    object: "payment_method",
    type: row.type,
    card: cardOf(row),
    billing_details: fromJson<BillingDetails>(row.billing_details, {}),
    created: Number(row.created),
    customer: row.customer ?? undefined,
    livemode: bool(row.livemode),
    metadata: fromJson(row.metadata, {}),
  };
}

/** A payment method as event JSON. */
export function paymentMethodJson(pm: PaymentMethod) {
  return toCanonicalJson("payments.v1.PaymentMethod", PaymentMethod, pm);
}
