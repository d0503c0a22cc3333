// Webhook rows ↔ messages.
import type { WebhookAttempt, WebhookDelivery, WebhookEndpoint } from "../../gen/payments/v1/webhook_endpoints";

/** A `webhook_endpoints` row. */
export interface EndpointRow {
  seq: number;
  id: string;
  merchant_id: string;
  livemode: boolean | number;
  url: string;
  enabled_events: string;
  description: string | null;
  disabled: boolean | number;
  metadata: string;
  secret_enc: string;
  old_secret_enc: string | null;
  old_secret_expires_at: number | null;
  created: number;
}

/** A `webhook_deliveries` row (bigint columns come back as strings from PostgreSQL). */
export interface DeliveryRow {
  seq: number;
  id: string;
  merchant_id: string;
  livemode: boolean | number;
  event_id: string;
  webhook_endpoint_id: string;
  status: "pending" | "succeeded" | "failed";
  attempt_count: number;
  next_attempt_ms: number | string | null;
  lease_owner: string | null;
  lease_expires_ms: number | string | null;
  created: number;
}

/** A `webhook_attempts` row. */
export interface AttemptRow {
  seq: number;
  delivery_id: string;
  created: number;
  response_status: number | null;
  latency_ms: number;
  response_snippet: string | null;
  error: string | null;
}

/** The WebhookEndpoint message of a row; `secret` only when the caller may see it. */
export function toEndpoint(row: EndpointRow, secret?: string): WebhookEndpoint {
  return {
    id: row.id,
    object: "webhook_endpoint",
    url: row.url,
    enabled_events: JSON.parse(row.enabled_events) as string[],
    description: row.description ?? undefined,
    disabled: Boolean(row.disabled),
    secret,
    created: Number(row.created),
    livemode: Boolean(row.livemode),
    metadata: JSON.parse(row.metadata) as Record<string, string>,
  };
}

/** The WebhookAttempt message of a row. */
export function toAttempt(row: AttemptRow): WebhookAttempt {
  return {
    created: Number(row.created),
    response_status: row.response_status ?? undefined,
    latency_ms: Number(row.latency_ms),
    response_snippet: row.response_snippet ?? undefined,
    error: row.error ?? undefined,
  };
}

/** The WebhookDelivery message of a row and its attempts (oldest first). */
export function toDelivery(row: DeliveryRow, attempts: AttemptRow[]): WebhookDelivery {
  return {
    id: row.id,
    object: "webhook_delivery",
    event: row.event_id,
    webhook_endpoint: row.webhook_endpoint_id,
    status: row.status,
    attempt_count: Number(row.attempt_count),
    next_attempt_at: row.status === "pending" && row.next_attempt_ms !== null ? Math.ceil(Number(row.next_attempt_ms) / 1000) : undefined,
    created: Number(row.created),
    attempts: attempts.map(toAttempt),
    livemode: Boolean(row.livemode),
  };
}
