// The REST routes of the contract that tests check by name: the five the API
// design shows, and those around them that a merchant (and the SDKs) rely on.

/** Routes the API design itself shows, `METHOD /path`. */
export const DESIGN_ROUTES = [
  "POST /v1/payment_intents",
  "POST /v1/payment_intents/{id}/confirm",
  "POST /v1/payment_methods",
  "POST /v1/payment_methods/{id}/attach",
  "POST /v1/refunds",
];

/** Routes around the design: retrieve, update, list, capture, cancel, events, webhooks, receipts. */
export const ROUTES_AROUND_THE_DESIGN = [
  "GET /v1/payment_intents/{id}",
  "POST /v1/payment_intents/{id}",
  "POST /v1/payment_intents/{id}/capture",
  "POST /v1/payment_intents/{id}/cancel",
  "POST /v1/payment_intents/{id}/authenticate",
  "GET /v1/payment_intents",
  "GET /v1/payment_methods/{id}",
  "GET /v1/payment_methods",
  "POST /v1/payment_methods/{id}/detach",
  "POST /v1/customers",
  "GET /v1/customers/{id}",
  "POST /v1/customers/{id}",
  "DELETE /v1/customers/{id}",
  "GET /v1/customers",
  "GET /v1/charges/{id}",
  "GET /v1/charges",
  "GET /v1/refunds/{id}",
  "GET /v1/refunds",
  "GET /v1/events/{id}",
  "GET /v1/events",
  "GET /v1/events/stream",
  "POST /v1/webhook_endpoints",
  "GET /v1/webhook_endpoints/{id}",
  "POST /v1/webhook_endpoints/{id}",
  "DELETE /v1/webhook_endpoints/{id}",
  "GET /v1/webhook_endpoints",
  "GET /receipts/{charge_id}",
];
