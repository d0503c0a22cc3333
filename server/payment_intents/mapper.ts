// Payment intent rows ↔ API messages (with their embedded charges).
import { PaymentIntent } from "../../gen/payments/v1/payment_intents";
import type { ErrorDetail } from "../../gen/payments/v1/common";
import type { CoreSettings } from "../deps";
import { bool } from "../db/knex";
import { fromJson } from "../db/resources";
import { clientSecretFor } from "../domain/ids";
import type { IntentStatus } from "../domain/payment_intent_state";
import { toCanonicalJson } from "../json";
import { toCharge, type ChargeRow } from "../charges/mapper";
import { EMBEDDED_CHARGES } from "../charges/store";

/** A row of `payment_intents`. */
export interface IntentRow {
  seq: number;
  id: string;
  merchant_id: string;
  livemode: boolean | number;
  amount: number;
  currency: string;
  status: IntentStatus;
  version: number;
  description: string | null;
  metadata: string;
  payment_method_types: string;
  capture_method: "automatic" | "manual";
  confirmation_method: "automatic" | "manual";
  customer_id: string | null;
  payment_method: string | null;
  amount_received: number;
  amount_capturable: number;
  last_payment_error: string | null;
  return_url: string | null;
  cancellation_reason: string | null;
  canceled_at: number | null;
  latest_charge: string | null;
  created: number;
}

/**
 * The API message of an intent row; `charges` are its newest charges (up to
 * EMBEDDED_CHARGES + 1). `withSecret` false leaves the client secret empty
 * (event payloads), which also saves its HMAC.
 */
export function toPaymentIntent(row: IntentRow, charges: ChargeRow[], settings: CoreSettings, withSecret = true): PaymentIntent {
  const base = settings.publicBaseUrl;
  return {
    id: row.id,
    object: "payment_intent",
    amount: Number(row.amount),
    currency: row.currency,
    status: row.status,
    client_secret: withSecret ? clientSecretFor(row.id, settings.fingerprintSecret) : "",
    created: Number(row.created),
    description: row.description ?? undefined,
    metadata: fromJson(row.metadata, {}),
    payment_method_types: fromJson(row.payment_method_types, ["card"]),
    capture_method: row.capture_method,
    confirmation_method: row.confirmation_method,
    customer_id: row.customer_id ?? undefined,
    amount_received: Number(row.amount_received),
    amount_capturable: Number(row.amount_capturable),
    charges: {
      object: "list",
      data: charges.slice(0, EMBEDDED_CHARGES).map((c) => toCharge(c, base)),
      has_more: charges.length > EMBEDDED_CHARGES,
      url: `/v1/charges?payment_intent=${row.id}`,
    },
    last_payment_error: fromJson<ErrorDetail | undefined>(row.last_payment_error, undefined),
    next_action:
      row.status === "requires_action"
        ? {
            type: "redirect_to_url",
            redirect_to_url: { url: `${base}/v1/payment_intents/${row.id}/authenticate`, return_url: row.return_url ?? undefined },
          }
        : undefined,
    cancellation_reason: row.cancellation_reason ?? undefined,
    livemode: bool(row.livemode),
    payment_method: row.payment_method ?? undefined,
    canceled_at: row.canceled_at ?? undefined,
    latest_charge: row.latest_charge ?? undefined,
  };
}

/**
 * The reduced intent a publishable key (a browser, holding the client secret)
 * may see, as Stripe does: no metadata, description or customer, which are the
 * merchant's own data, and charges without the customer, description and card
 * fingerprint. Amounts and status stay: the payer's page needs them.
 */
export function forPublishableKey(pi: PaymentIntent): PaymentIntent {
  return {
    ...pi,
    description: undefined,
    metadata: {},
    customer_id: undefined,
    latest_charge: undefined,
    charges: pi.charges && {
      ...pi.charges,
      data: pi.charges.data.map((c) => ({
        ...c,
        customer: undefined,
        description: undefined,
        payment_method: c.payment_method && {
          ...c.payment_method,
          card: c.payment_method.card && { ...c.payment_method.card, fingerprint: "" },
        },
      })),
    },
  };
}

/**
 * An intent row as event JSON. The client secret is left out: events are
 * stored and sent to webhook endpoints, and the secret must not be stored or spread.
 */
export function paymentIntentJson(row: IntentRow, charges: ChargeRow[], settings: CoreSettings) {
  return toCanonicalJson("payments.v1.PaymentIntent", PaymentIntent, toPaymentIntent(row, charges, settings, false));
}
