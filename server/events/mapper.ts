// Event rows ↔ the Event message (the spec's webhook payload).
import type { Event } from "../../gen/payments/v1/events";

/** An `events` row as the database returns it (SQLite booleans are 0/1). */
export interface EventRow {
  seq: number;
  id: string;
  merchant_id: string;
  livemode: boolean | number;
  type: string;
  created: number;
  data: string;
  request_id: string | null;
  idempotency_key: string | null;
  pending_webhooks: number;
}

/** The Event message of a row. */
export function toEvent(row: EventRow): Event {
  return {
    id: row.id,
    object: "event",
    type: row.type,
    created: Number(row.created),
    data: { object: JSON.parse(row.data) as Record<string, unknown> },
    livemode: Boolean(row.livemode),
    pending_webhooks: Number(row.pending_webhooks),
    request: { id: row.request_id ?? undefined, idempotency_key: row.idempotency_key ?? undefined },
  };
}
