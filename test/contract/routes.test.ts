// The contract covers the API design: every REST route of the spec is an
// annotated RPC, and every JSON field of the spec's examples is a field of
// the message that carries it.
import { describe, expect, it } from "vitest";
import { allMethods, httpRules, loadRegistry } from "../../gateway/descriptors";
import { DESIGN_ROUTES, ROUTES_AROUND_THE_DESIGN } from "../support/routes";

const registry = loadRegistry();
const routes = allMethods(registry).flatMap((m) =>
  httpRules(registry, m).map((r) => ({ route: `${r.method.toUpperCase()} ${r.path}`, method: m, rule: r })),
);
const routeSet = new Set(routes.map((r) => r.route));

/** Field names of a message (by full name), for checking the spec's JSON keys. */
function fieldsOf(typeName: string): string[] {
  const msg = registry.getMessage(typeName);
  if (!msg) throw new Error(`no message ${typeName}`);
  return msg.fields.map((f) => f.name);
}

describe("spec routes are annotated", () => {
  it.each(DESIGN_ROUTES)("%s (from the API design)", (route) => {
    expect(routeSet).toContain(route);
  });

  it.each(ROUTES_AROUND_THE_DESIGN)("%s (around the design)", (route) => {
    expect(routeSet).toContain(route);
  });

  it("gives every RPC an HTTP rule, and no route twice", () => {
    for (const m of allMethods(registry).filter((m) => m.parent.file.proto.package === "payments.v1")) {
      expect(httpRules(registry, m).length, m.name).toBeGreaterThan(0);
    }
    expect(routes.length).toBe(routeSet.size);
  });

  it("returns single objects as the body and lists whole", () => {
    const create = routes.find((r) => r.route === "POST /v1/payment_intents")!;
    expect(create.rule.body).toBe("*");
    expect(create.rule.responseBody).toBe("payment_intent");
    const list = routes.find((r) => r.route === "GET /v1/payment_intents")!;
    expect(list.rule.responseBody).toBe("");
    expect(fieldsOf("payments.v1.ListPaymentIntentsResponse")).toEqual(["object", "data", "has_more", "url"]);
  });
});

describe("spec JSON fields exist", () => {
  it.each([
    ["payments.v1.CreatePaymentIntentRequest", ["amount", "currency", "payment_method_types", "customer_id", "description", "metadata", "capture_method", "confirmation_method", "payment_method", "confirm"]],
    ["payments.v1.PaymentIntent", ["id", "object", "amount", "currency", "status", "client_secret", "created", "description", "metadata", "payment_method_types", "capture_method", "confirmation_method", "amount_received", "charges", "customer_id", "amount_capturable", "last_payment_error", "next_action", "cancellation_reason", "livemode", "payment_method"]],
    ["payments.v1.ConfirmPaymentIntentRequest", ["payment_method", "return_url", "use_stripe_sdk"]],
    ["payments.v1.ChargeList", ["data"]],
    ["payments.v1.Charge", ["id", "amount", "currency", "status", "payment_method", "receipt_url", "amount_refunded", "refunded", "disputed"]],
    ["payments.v1.ChargePaymentMethod", ["id", "type", "card"]],
    ["payments.v1.CardDetails", ["brand", "last4", "exp_month", "exp_year", "fingerprint", "funding", "country"]],
    ["payments.v1.CardInput", ["number", "exp_month", "exp_year", "cvc"]],
    ["payments.v1.CreatePaymentMethodRequest", ["type", "card", "billing_details"]],
    ["payments.v1.BillingDetails", ["name", "email", "address"]],
    ["payments.v1.Address", ["line1", "city", "state", "postal_code", "country"]],
    ["payments.v1.PaymentMethod", ["id", "object", "type", "card", "billing_details", "created"]],
    ["payments.v1.AttachPaymentMethodRequest", ["customer"]],
    ["payments.v1.CreateRefundRequest", ["charge", "amount", "reason", "metadata"]],
    ["payments.v1.Refund", ["id", "object", "amount", "charge", "created", "currency", "reason", "status", "metadata"]],
    ["payments.v1.Event", ["id", "object", "type", "created", "data", "livemode", "pending_webhooks", "request"]],
    ["payments.v1.EventData", ["object"]],
    ["payments.v1.EventRequest", ["id", "idempotency_key"]],
    ["payments.v1.ErrorDetail", ["type", "code", "message", "decline_code", "param", "request_id"]],
  ])("%s", (typeName, names) => {
    expect(fieldsOf(typeName)).toEqual(expect.arrayContaining(names));
  });

  it("prints amounts and timestamps as JSON numbers (32-bit types), statuses as strings", () => {
    const pi = registry.getMessage("payments.v1.PaymentIntent")!;
    const kind = (name: string) => {
      const f = pi.fields.find((f) => f.name === name)!;
      return f.fieldKind === "scalar" ? f.scalar : f.fieldKind;
    };
    // ScalarType: 5 = INT32, 13 = UINT32, 9 = STRING (64-bit types would print as strings).
    expect(kind("amount")).toBe(5);
    expect(kind("created")).toBe(13);
    expect(kind("status")).toBe(9);
  });
});
