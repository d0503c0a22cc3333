// Golden conformance cases: request → expected status and body, in order
// (later cases use ids captured from earlier ones as {name}). They cover every
// REST route of the API design with its own example requests, every error
// class, pagination, idempotent replay, and the gateway's own errors.
//
// Expected values: literal JSON, or a pattern string:
//   "$id:pi"  an id with that prefix     "$ts"   a Unix timestamp (seconds)
//   "$req"    a request id               "$str" / "$num" / "$bool"  any of that type
//   "~regex"  a string matching regex    "={name}"  exactly a captured value
// Objects match when every expected key matches (extra fields of the contract
// are allowed); `$exact: true` demands exactly the expected keys.

/** Which key a case sends as `Authorization: Bearer ...`. */
export type KeyName = "secret" | "publishable" | "other" | "none" | "invalid";

export interface GoldenCase {
  name: string;
  method: string;
  path: string;
  key?: KeyName;
  headers?: Record<string, string>;
  /** A JSON value, or a raw string sent as is. */
  body?: unknown;
  /** Send the same request this many times first (rate limiting). */
  repeat?: number;
  status: number;
  expect?: unknown;
  /** Expected response headers (values are patterns too; null: absent). */
  expectHeaders?: Record<string, string | null>;
  /** The body is not JSON: it must contain these strings. */
  expectText?: string[];
  /** Names for values of the response, by dotted path (`charges.data.0.id`). */
  capture?: Record<string, string>;
  /**
   * What Envoy answers instead, where its own replies differ from the Node
   * gateway's (its transcoder's local replies carry no `param`, and a wrong
   * method is an unknown route to it).
   */
  envoy?: Pick<GoldenCase, "status" | "expect" | "expectHeaders">;
}

/** The customer of the API design's example payment intent (the runner creates it). */
export const SPEC_CUSTOMER_ID = "cus_1234567890";

const FUTURE_YEAR = new Date().getUTCFullYear() + 4;

/** The API error object, exactly: type, code, message, request_id and the given extras. */
const error = (type: string, code: string, extra: Record<string, unknown> = {}) => ({
  $exact: true,
  error: { $exact: true, type, code, message: "$str", request_id: "$req", ...extra },
});

const spec = {
  createPaymentIntent: {
    amount: 2000,
    currency: "usd",
    payment_method_types: ["card", "apple_pay"],
    customer_id: SPEC_CUSTOMER_ID,
    description: "Payment for Order #12345",
    metadata: { order_id: "12345", customer_email: "customer@example.com" },
    capture_method: "automatic",
    confirmation_method: "automatic",
  },
  createPaymentMethod: {
    type: "card",
    card: { number: "4242424242424242", exp_month: 12, exp_year: FUTURE_YEAR, cvc: "123" },
    billing_details: {
      name: "John Doe",
      email: "john@example.com",
      address: { line1: "123 Main St", city: "San Francisco", state: "CA", postal_code: "94105", country: "US" },
    },
  },
  refundMetadata: { refund_reason: "Product returned", processed_by: "support_agent_123" },
};

const paymentIntentShape = {
  id: "$id:pi",
  object: "payment_intent",
  amount: 2000,
  currency: "usd",
  client_secret: "~^pi_\\w+_secret_[\\w-]+$",
  created: "$ts",
  livemode: false,
};

export const GOLDEN: GoldenCase[] = [
  // --- The API design's examples, as written -------------------------------
  {
    name: "POST /v1/payment_methods (the spec's example, with a card that has not expired)",
    method: "POST",
    path: "/v1/payment_methods",
    body: spec.createPaymentMethod,
    status: 200,
    expect: {
      id: "$id:pm",
      object: "payment_method",
      type: "card",
      card: { $exact: true, brand: "visa", last4: "4242", exp_month: 12, exp_year: FUTURE_YEAR, fingerprint: "$str", funding: "credit", country: "US" },
      billing_details: spec.createPaymentMethod.billing_details,
      created: "$ts",
    },
    expectHeaders: { "ratelimit-limit": "$num", "ratelimit-remaining": "$num" },
    capture: { pm: "id" },
  },
  {
    name: "POST /v1/customers",
    method: "POST",
    path: "/v1/customers",
    body: { email: "customer@example.com", name: "Jane Customer", metadata: { tier: "gold" } },
    status: 200,
    expect: { id: "$id:cus", object: "customer", email: "customer@example.com", name: "Jane Customer", metadata: { tier: "gold" }, created: "$ts", livemode: false },
    capture: { cus: "id" },
  },
  {
    name: "POST /v1/payment_methods/{id}/attach (the spec's example body, with a real customer)",
    method: "POST",
    path: "/v1/payment_methods/{pm}/attach",
    body: { customer: "{cus}" },
    status: 200,
    expect: { id: "={pm}", object: "payment_method", customer: "={cus}" },
  },
  {
    name: "POST /v1/payment_intents (the spec's example, exactly)",
    method: "POST",
    path: "/v1/payment_intents",
    body: spec.createPaymentIntent,
    status: 200,
    expect: {
      ...paymentIntentShape,
      status: "requires_payment_method",
      description: "Payment for Order #12345",
      metadata: { $exact: true, order_id: "12345", customer_email: "customer@example.com" },
      payment_method_types: ["card", "apple_pay"],
      capture_method: "automatic",
      confirmation_method: "automatic",
    },
    capture: { pi_spec: "id" },
  },
  {
    name: "POST /v1/payment_intents for the customer",
    method: "POST",
    path: "/v1/payment_intents",
    body: { amount: 2000, currency: "usd", payment_method_types: ["card"], customer_id: "{cus}", metadata: { order_id: "12345" } },
    status: 200,
    expect: { ...paymentIntentShape, status: "requires_payment_method", customer_id: "={cus}" },
    capture: { pi: "id" },
  },
  {
    name: "POST /v1/payment_intents/{id}/confirm (the spec's example)",
    method: "POST",
    path: "/v1/payment_intents/{pi}/confirm",
    body: { payment_method: "{pm}", return_url: "https://merchant.com/return", use_stripe_sdk: true },
    status: 200,
    expect: {
      id: "={pi}",
      status: "succeeded",
      amount_received: 2000,
      charges: {
        data: [
          {
            id: "$id:ch",
            amount: 2000,
            currency: "usd",
            status: "succeeded",
            payment_method: { $exact: true, id: "={pm}", type: "card", card: { brand: "visa", last4: "4242", exp_month: 12, exp_year: FUTURE_YEAR } },
            receipt_url: "~/receipts/ch_\\w+$",
          },
        ],
      },
    },
    capture: { ch: "charges.data.0.id", receipt_url: "charges.data.0.receipt_url" },
  },
  {
    name: "GET /v1/payment_intents/{id}",
    method: "GET",
    path: "/v1/payment_intents/{pi}",
    status: 200,
    expect: { id: "={pi}", status: "succeeded", amount_received: 2000, payment_method: "={pm}" },
  },
  {
    name: "GET /v1/charges/{id}",
    method: "GET",
    path: "/v1/charges/{ch}",
    status: 200,
    expect: { id: "={ch}", object: "charge", amount: 2000, amount_captured: 2000, amount_refunded: 0, refunded: false, disputed: false, captured: true, payment_intent: "={pi}" },
  },
  {
    name: "GET /receipts/{charge_id} (HTML, no key)",
    method: "GET",
    path: "/receipts/{ch}",
    key: "none",
    status: 200,
    expectHeaders: { "content-type": "~^text/html" },
    expectText: ["4242", "20.00"],
  },
  {
    name: "POST /v1/refunds (the spec's example, with the real charge)",
    method: "POST",
    path: "/v1/refunds",
    body: { charge: "{ch}", amount: 1000, reason: "requested_by_customer", metadata: spec.refundMetadata },
    status: 200,
    expect: {
      id: "$id:re",
      object: "refund",
      amount: 1000,
      charge: "={ch}",
      created: "$ts",
      currency: "usd",
      reason: "requested_by_customer",
      status: "succeeded",
      metadata: { $exact: true, ...spec.refundMetadata },
    },
    capture: { re: "id" },
  },
  { name: "GET /v1/refunds/{id}", method: "GET", path: "/v1/refunds/{re}", status: 200, expect: { id: "={re}", amount: 1000 } },
  {
    name: "GET /v1/refunds?charge= (a list)",
    method: "GET",
    path: "/v1/refunds?charge={ch}",
    status: 200,
    expect: { $exact: true, object: "list", data: [{ id: "={re}" }], has_more: false, url: "/v1/refunds" },
  },
  {
    name: "GET /v1/charges/{id} after a partial refund",
    method: "GET",
    path: "/v1/charges/{ch}",
    status: 200,
    expect: { amount_refunded: 1000, refunded: false },
  },

  // --- Pagination ------------------------------------------------------------
  { name: "POST /v1/customers (page 2)", method: "POST", path: "/v1/customers", body: { name: "B" }, status: 200, capture: { cus_b: "id" } },
  { name: "POST /v1/customers (page 3)", method: "POST", path: "/v1/customers", body: { name: "C" }, status: 200, capture: { cus_c: "id" } },
  {
    name: "GET /v1/customers?limit=2 (newest first, has_more)",
    method: "GET",
    path: "/v1/customers?limit=2",
    status: 200,
    expect: { $exact: true, object: "list", data: [{ id: "={cus_c}" }, { id: "={cus_b}" }], has_more: true, url: "/v1/customers" },
  },
  {
    name: "GET /v1/customers?limit=2&starting_after= (the next page)",
    method: "GET",
    path: "/v1/customers?limit=2&starting_after={cus_b}",
    status: 200,
    expect: { $exact: true, object: "list", data: [{ id: "={cus}" }, { id: SPEC_CUSTOMER_ID }], has_more: false, url: "/v1/customers" },
  },
  {
    name: "GET /v1/customers?ending_before= (the previous page)",
    method: "GET",
    path: "/v1/customers?limit=1&ending_before={cus}",
    status: 200,
    expect: { object: "list", data: [{ id: "={cus_b}" }], has_more: true },
  },
  { name: "GET /v1/payment_methods?customer=", method: "GET", path: "/v1/payment_methods?customer={cus}", status: 200, expect: { object: "list", data: [{ id: "={pm}" }] } },
  { name: "GET /v1/payment_intents?limit=1", method: "GET", path: "/v1/payment_intents?limit=1", status: 200, expect: { object: "list", data: [{ id: "={pi}" }], has_more: true, url: "/v1/payment_intents" } },
  { name: "GET /v1/charges?payment_intent=", method: "GET", path: "/v1/charges?payment_intent={pi}", status: 200, expect: { object: "list", data: [{ id: "={ch}" }], has_more: false } },
  {
    name: "GET /v1/events?type=charge.refunded",
    method: "GET",
    path: "/v1/events?type=charge.refunded&limit=1",
    status: 200,
    expect: { object: "list", data: [{ id: "$id:evt", object: "event", type: "charge.refunded", created: "$ts", livemode: false, data: { object: { id: "={ch}", object: "charge" } } }] },
    capture: { evt: "data.0.id" },
  },
  { name: "GET /v1/events/{id}", method: "GET", path: "/v1/events/{evt}", status: 200, expect: { id: "={evt}", type: "charge.refunded" } },

  // --- Idempotent replay -------------------------------------------------------
  {
    name: "POST /v1/customers with an Idempotency-Key",
    method: "POST",
    path: "/v1/customers",
    headers: { "Idempotency-Key": "golden-key-1" },
    body: { email: "once@example.com" },
    status: 200,
    expect: { id: "$id:cus", email: "once@example.com" },
    capture: { cus_once: "id" },
  },
  {
    name: "the same request again replays the first answer",
    method: "POST",
    path: "/v1/customers",
    headers: { "Idempotency-Key": "golden-key-1" },
    body: { email: "once@example.com" },
    status: 200,
    expect: { id: "={cus_once}", email: "once@example.com" },
    expectHeaders: { "idempotent-replayed": "true" },
  },
  {
    name: "the same key with other parameters is an idempotency_error",
    method: "POST",
    path: "/v1/customers",
    headers: { "Idempotency-Key": "golden-key-1" },
    body: { email: "other@example.com" },
    status: 400,
    expect: error("idempotency_error", "idempotency_key_reused"),
  },

  // --- Every error class --------------------------------------------------------
  { name: "no API key", method: "GET", path: "/v1/customers", key: "none", status: 401, expect: error("authentication_error", "invalid_api_key") },
  { name: "an unknown API key", method: "GET", path: "/v1/customers", key: "invalid", status: 401, expect: error("authentication_error", "invalid_api_key") },
  { name: "a publishable key on a secret-key route", method: "GET", path: "/v1/customers", key: "publishable", status: 403, expect: error("authentication_error", "unauthorized") },
  {
    name: "another merchant's object is missing, never forbidden",
    method: "GET",
    path: "/v1/payment_intents/{pi}",
    key: "other",
    status: 404,
    expect: error("invalid_request_error", "resource_missing", { param: "id" }),
  },
  { name: "a missing object", method: "GET", path: "/v1/refunds/re_doesnotexist", status: 404, expect: error("invalid_request_error", "resource_missing", { param: "id" }) },
  {
    name: "a missing required parameter",
    method: "POST",
    path: "/v1/payment_intents",
    body: { currency: "usd" },
    status: 400,
    expect: error("invalid_request_error", "parameter_missing", { param: "amount" }),
  },
  {
    name: "an invalid parameter",
    method: "POST",
    path: "/v1/payment_intents",
    body: { amount: -5, currency: "usd" },
    status: 400,
    expect: error("invalid_request_error", "parameter_invalid", { param: "amount" }),
  },
  {
    name: "a declining card's payment method",
    method: "POST",
    path: "/v1/payment_methods",
    body: { type: "card", card: { number: "4000000000009995", exp_month: 1, exp_year: FUTURE_YEAR, cvc: "999" } },
    status: 200,
    capture: { pm_decline: "id" },
  },
  {
    name: "a declined card is a card_error with HTTP 402",
    method: "POST",
    path: "/v1/payment_intents",
    body: { amount: 500, currency: "usd", payment_method: "{pm_decline}", confirm: true },
    status: 402,
    expect: error("card_error", "card_declined", { decline_code: "insufficient_funds", payment_intent: "$id:pi", charge: "$id:ch", payment_method: "={pm_decline}" }),
  },
  {
    name: "an action the object's state forbids",
    method: "POST",
    path: "/v1/payment_intents/{pi}/capture",
    body: {},
    status: 400,
    expect: error("invalid_request_error", "payment_intent_unexpected_state", { payment_intent: "={pi}" }),
  },
  {
    name: "refunding more than remains",
    method: "POST",
    path: "/v1/refunds",
    body: { charge: "{ch}", amount: 5000 },
    status: 400,
    expect: { error: { type: "invalid_request_error", code: "$str", request_id: "$req" } },
  },
  {
    name: "rate limited after the budget is spent (another merchant's key, payment_creation class)",
    method: "GET",
    path: "/v1/payment_intents",
    key: "other",
    repeat: 30,
    status: 429,
    expect: error("rate_limit_error", "rate_limit"),
    expectHeaders: { "retry-after": "$num", "ratelimit-remaining": "0" },
  },

  // --- The gateway's own errors -------------------------------------------------
  { name: "an unknown route", method: "GET", path: "/v1/nothing", status: 404, expect: error("invalid_request_error", "route_not_found") },
  {
    name: "a wrong method",
    method: "DELETE",
    path: "/v1/payment_intents/{pi}",
    status: 405,
    expect: error("invalid_request_error", "method_not_allowed"),
    expectHeaders: { allow: "GET, POST" },
    envoy: { status: 404, expect: error("invalid_request_error", "route_not_found"), expectHeaders: {} },
  },
  {
    name: "a body that is not JSON",
    method: "POST",
    path: "/v1/customers",
    body: "{email:",
    status: 400,
    expect: error("invalid_request_error", "parameter_invalid", { param: "body" }),
    envoy: { status: 400, expect: error("invalid_request_error", "parameter_invalid") },
  },
  {
    name: "a field of the wrong type",
    method: "POST",
    path: "/v1/payment_intents",
    body: { amount: "twenty", currency: "usd" },
    status: 400,
    expect: error("invalid_request_error", "parameter_invalid", { param: "amount" }),
    envoy: { status: 400, expect: error("invalid_request_error", "parameter_invalid") },
  },
  {
    name: "an unknown field",
    method: "POST",
    path: "/v1/customers",
    body: { email: "a@b.c", colour: "red" },
    status: 400,
    expect: error("invalid_request_error", "parameter_unknown", { param: "colour" }),
    envoy: { status: 400, expect: error("invalid_request_error", "parameter_invalid") },
  },
  {
    name: "an unknown query parameter",
    method: "GET",
    path: "/v1/customers?colour=red",
    status: 400,
    expect: error("invalid_request_error", "parameter_unknown", { param: "colour" }),
    envoy: { status: 400, expect: error("invalid_request_error", "parameter_invalid") },
  },
  {
    name: "a body over 1 MiB",
    method: "POST",
    path: "/v1/customers",
    body: { description: "x".repeat(1024 * 1024 + 1) },
    status: 413,
    expect: error("invalid_request_error", "request_too_large"),
  },

  // --- The rest of the routes -------------------------------------------------
  { name: "POST /v1/customers/{id}", method: "POST", path: "/v1/customers/{cus_b}", body: { metadata: { k: "v" } }, status: 200, expect: { id: "={cus_b}", metadata: { k: "v" } } },
  { name: "DELETE /v1/customers/{id}", method: "DELETE", path: "/v1/customers/{cus_c}", status: 200, expect: { $exact: true, id: "={cus_c}", object: "customer", deleted: true } },
  { name: "POST /v1/payment_methods/{id}/detach", method: "POST", path: "/v1/payment_methods/{pm}/detach", body: {}, status: 200, expect: { id: "={pm}" } },
  { name: "GET /v1/payment_methods/{id}", method: "GET", path: "/v1/payment_methods/{pm}", status: 200, expect: { id: "={pm}", card: { last4: "4242" } } },
  {
    name: "POST /v1/payment_intents (manual capture, confirmed at once)",
    method: "POST",
    path: "/v1/payment_intents",
    body: { amount: 3000, currency: "usd", capture_method: "manual", payment_method: "{pm}", confirm: true },
    status: 200,
    expect: { status: "requires_capture", amount_capturable: 3000 },
    capture: { pi_manual: "id" },
  },
  { name: "POST /v1/payment_intents/{id}/capture", method: "POST", path: "/v1/payment_intents/{pi_manual}/capture", body: { amount_to_capture: 2500 }, status: 200, expect: { status: "succeeded", amount_received: 2500 } },
  { name: "POST /v1/payment_intents/{id} (update)", method: "POST", path: "/v1/payment_intents/{pi_spec}", body: { description: "changed" }, status: 200, expect: { id: "={pi_spec}", description: "changed" } },
  { name: "POST /v1/payment_intents/{id}/cancel", method: "POST", path: "/v1/payment_intents/{pi_spec}/cancel", body: { cancellation_reason: "requested_by_customer" }, status: 200, expect: { status: "canceled", cancellation_reason: "requested_by_customer" } },
  {
    name: "POST /v1/webhook_endpoints",
    method: "POST",
    path: "/v1/webhook_endpoints",
    body: { url: "https://merchant.example.com/hooks", enabled_events: ["payment_intent.succeeded"] },
    status: 200,
    expect: { id: "$id:we", object: "webhook_endpoint", url: "https://merchant.example.com/hooks", enabled_events: ["payment_intent.succeeded"], secret: "$str" },
    capture: { we: "id" },
  },
  { name: "GET /v1/webhook_endpoints/{id}", method: "GET", path: "/v1/webhook_endpoints/{we}", status: 200, expect: { id: "={we}", disabled: false } },
  { name: "POST /v1/webhook_endpoints/{id}", method: "POST", path: "/v1/webhook_endpoints/{we}", body: { disabled: true }, status: 200, expect: { id: "={we}", disabled: true } },
  { name: "GET /v1/webhook_endpoints", method: "GET", path: "/v1/webhook_endpoints", status: 200, expect: { object: "list", data: [{ id: "={we}" }], url: "/v1/webhook_endpoints" } },
  { name: "DELETE /v1/webhook_endpoints/{id}", method: "DELETE", path: "/v1/webhook_endpoints/{we}", status: 200, expect: { id: "={we}", deleted: true } },
];
