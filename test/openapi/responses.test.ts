// The OpenAPI document describes what the service really answers: real
// responses of the live gateway, for the routes of the spec and the error
// cases, validate against the response schema of their route, with every
// object closed (`additionalProperties: false`), so an undocumented field, a
// number printed as a string, a missing always-printed field or a status
// outside its listed values fails.
import Ajv2020 from "ajv/dist/2020";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildOpenApi } from "../../gateway/openapi/openapi";
import { startLiveService, type LiveService } from "../sdk/support";

type Json = Record<string, any>;
const doc = buildOpenApi() as Json;

/** A copy of the schemas where every object with declared properties admits no others. */
function closed(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closed);
  if (!node || typeof node !== "object") return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) out[k] = k === "properties" ? Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, closed(s)])) : closed(v);
  if (out.type === "object" && out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema({ $id: "openapi", components: closed(doc.components) });

/** The schema of a route's response with `status`, as a $ref into the document. */
function responseSchema(method: string, template: string, status: number): Json {
  const op = doc.paths[template]?.[method.toLowerCase()];
  if (!op) throw new Error(`no operation ${method} ${template}`);
  let response = op.responses[String(status)];
  if (!response) throw new Error(`${method} ${template} documents no ${status}`);
  if (response.$ref) response = doc.components.responses[response.$ref.split("/").pop()];
  const schema = response.content["application/json"].schema;
  return schema.$ref ? { $ref: `openapi${schema.$ref}` } : schema;
}

let service: LiveService;
let key: string;

async function call(method: string, path: string, body?: Json): Promise<{ status: number; json: Json }> {
  const res = await fetch(service.base + path, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: (await res.json()) as Json };
}

/** Calls the route and checks the body against the document; returns the body. */
async function conforms(method: string, template: string, path: string, body?: Json, expectedStatus = 200): Promise<Json> {
  const res = await call(method, path, body);
  expect(res.status, JSON.stringify(res.json)).toBe(expectedStatus);
  const validate = ajv.compile(responseSchema(method, template, res.status));
  const ok = validate(res.json);
  expect(validate.errors ?? [], `${method} ${path}: ${JSON.stringify(res.json)}`).toEqual([]);
  expect(ok).toBe(true);
  return res.json;
}

describe("real responses match the OpenAPI document", () => {
  beforeAll(async () => {
    service = await startLiveService();
    key = service.core.keys.secret;
  });
  afterAll(async () => {
    await service?.close();
  });

  it("closed schemas catch an undocumented field and a wrong type", () => {
    const validate = ajv.compile({ $ref: "openapi#/components/schemas/Refund" });
    const refund = { id: "re_1", object: "refund", amount: 1, charge: "ch_1", created: 1, currency: "usd", status: "succeeded", metadata: {}, payment_intent: "pi_1", livemode: false };
    expect(validate(refund)).toBe(true);
    expect(validate({ ...refund, surprise: 1 })).toBe(false);
    expect(validate({ ...refund, amount: "1" })).toBe(false);
    expect(validate({ ...refund, status: "done" })).toBe(false);
  });

  it("the payment flow of the spec", async () => {
    const customer = await conforms("POST", "/v1/customers", "/v1/customers", {
      email: "john@example.com",
      name: "John Doe",
      address: { line1: "123 Main St", city: "San Francisco", state: "CA", postal_code: "94105", country: "US" },
      metadata: { tier: "gold" },
    });
    const pm = await conforms("POST", "/v1/payment_methods", "/v1/payment_methods", {
      type: "card",
      card: { number: "4242424242424242", exp_month: 12, exp_year: 2034, cvc: "123" },
      billing_details: { name: "John Doe", email: "john@example.com", address: { line1: "123 Main St", city: "San Francisco", state: "CA", postal_code: "94105", country: "US" } },
    });
    await conforms("POST", "/v1/payment_methods/{id}/attach", `/v1/payment_methods/${pm.id}/attach`, { customer: customer.id });
    const pi = await conforms("POST", "/v1/payment_intents", "/v1/payment_intents", {
      amount: 2000,
      currency: "usd",
      payment_method_types: ["card", "apple_pay"],
      customer_id: customer.id,
      description: "Payment for Order #12345",
      metadata: { order_id: "12345", customer_email: "customer@example.com" },
      capture_method: "automatic",
      confirmation_method: "automatic",
    });
    const confirmed = await conforms("POST", "/v1/payment_intents/{id}/confirm", `/v1/payment_intents/${pi.id}/confirm`, {
      payment_method: pm.id,
      return_url: "https://merchant.com/return",
      use_stripe_sdk: true,
    });
    expect(confirmed.charges.data).toHaveLength(1);
    const chargeId = confirmed.charges.data[0].id;
    await conforms("GET", "/v1/charges/{id}", `/v1/charges/${chargeId}`);
    await conforms("GET", "/v1/charges", "/v1/charges?limit=5");
    await conforms("POST", "/v1/refunds", "/v1/refunds", { charge: chargeId, amount: 1000, reason: "requested_by_customer", metadata: { refund_reason: "Product returned" } });
    await conforms("GET", "/v1/refunds", "/v1/refunds");
    await conforms("GET", "/v1/payment_intents", "/v1/payment_intents?limit=3");
    await conforms("GET", "/v1/payment_methods", `/v1/payment_methods?customer=${customer.id}`);
    await conforms("GET", "/v1/customers/{id}", `/v1/customers/${customer.id}`);
    const events = await conforms("GET", "/v1/events", "/v1/events?limit=20");
    await conforms("GET", "/v1/events/{id}", `/v1/events/${events.data[0].id}`);
    await conforms("DELETE", "/v1/customers/{id}", `/v1/customers/${customer.id}`);
  });

  it("3-D Secure, manual capture and cancel", async () => {
    const pm3ds = await conforms("POST", "/v1/payment_methods", "/v1/payment_methods", {
      type: "card",
      card: { number: "4000002500003155", exp_month: 12, exp_year: 2034 },
    });
    const pending = await conforms("POST", "/v1/payment_intents", "/v1/payment_intents", { amount: 2000, currency: "usd", payment_method: pm3ds.id, confirm: true, return_url: "https://merchant.com/return" });
    expect(pending.status).toBe("requires_action");
    await conforms("POST", "/v1/payment_intents/{id}/authenticate", `/v1/payment_intents/${pending.id}/authenticate`, {});
    const manual = await conforms("POST", "/v1/payment_intents", "/v1/payment_intents", { amount: 500, currency: "usd", capture_method: "manual" });
    await conforms("POST", "/v1/payment_intents/{id}", `/v1/payment_intents/${manual.id}`, { description: "updated" });
    await conforms("POST", "/v1/payment_intents/{id}/cancel", `/v1/payment_intents/${manual.id}/cancel`, { cancellation_reason: "abandoned" });
  });

  it("webhook endpoints", async () => {
    const we = await conforms("POST", "/v1/webhook_endpoints", "/v1/webhook_endpoints", { url: "https://merchant.example/hooks", enabled_events: ["*"] });
    await conforms("GET", "/v1/webhook_endpoints", "/v1/webhook_endpoints");
    await conforms("POST", "/v1/webhook_endpoints/{id}/roll_secret", `/v1/webhook_endpoints/${we.id}/roll_secret`, {});
    await conforms("GET", "/v1/webhook_endpoints/{webhook_endpoint}/deliveries", `/v1/webhook_endpoints/${we.id}/deliveries`);
    await conforms("DELETE", "/v1/webhook_endpoints/{id}", `/v1/webhook_endpoints/${we.id}`);
  });

  it("error bodies: 400, 401, 402, 404", async () => {
    await conforms("POST", "/v1/payment_intents", "/v1/payment_intents", { currency: "usd" }, 400);
    await conforms("GET", "/v1/payment_intents/{id}", "/v1/payment_intents/pi_missing", undefined, 404);
    const declinedPm = await conforms("POST", "/v1/payment_methods", "/v1/payment_methods", { type: "card", card: { number: "4000000000000002", exp_month: 12, exp_year: 2034 } });
    const declined = await conforms("POST", "/v1/payment_intents", "/v1/payment_intents", { amount: 2000, currency: "usd", payment_method: declinedPm.id, confirm: true }, 402);
    expect(declined.error).toMatchObject({ type: "card_error", code: "card_declined" });
    key = "sk_test_wrong";
    try {
      await conforms("GET", "/v1/customers", "/v1/customers", undefined, 401);
    } finally {
      key = service.core.keys.secret;
    }
  });
});
