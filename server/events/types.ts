// The closed list of event types. Webhook endpoints may only subscribe to
// these (or `*`); the stream's type filter is checked against it too.

/** Every event type the service emits (or will, once billing exists). */
export const EVENT_TYPES = [
  "payment_intent.created",
  "payment_intent.succeeded",
  "payment_intent.payment_failed",
  "payment_intent.requires_action",
  "payment_intent.amount_capturable_updated",
  "payment_intent.canceled",
  "charge.succeeded",
  "charge.failed",
  "charge.captured",
  "charge.refunded",
  "charge.dispute.created",
  "refund.created",
  "payment_method.attached",
  "payment_method.detached",
  "customer.created",
  "customer.updated",
  "customer.deleted",
  // Accepted in enabled_events now; emitted once billing exists.
  "invoice.payment_succeeded",
  "customer.subscription.created",
] as const;

/** One event type. */
export type EventType = (typeof EVENT_TYPES)[number];

const KNOWN = new Set<string>(EVENT_TYPES);

/** Whether `type` is a known event type. */
export function isEventType(type: string): type is EventType {
  return KNOWN.has(type);
}
