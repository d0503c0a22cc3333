// Every event type of the issue arrives at a real receiver for the action
// that causes it, signed so the spec's verification accepts it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebhookEndpointServiceClient, type WebhookEndpoint } from "../../gen/payments/v1/webhook_endpoints";
import { EVENT_TYPES } from "../../server/events/types";
import { BACKENDS } from "../support/core";
import { call, ok, startPayments, type PaymentsCore } from "../payments/helpers";
import { startReceiver, verifyWebhookSignature, waitFor, type Receiver } from "./support";

// Emitted once billing exists; accepted in enabled_events today.
const NOT_YET = new Set(["invoice.payment_succeeded", "customer.subscription.created"]);

describe.each(BACKENDS)("every event type is delivered (%s)", (backend) => {
  let p: PaymentsCore;
  let receiver: Receiver;
  let endpoint: WebhookEndpoint;

  beforeAll(async () => {
    p = await startPayments(backend);
    receiver = await startReceiver();
    const endpoints = p.core.client(WebhookEndpointServiceClient);
    endpoint = ok(await call(endpoints, "createWebhookEndpoint", { url: receiver.url, enabled_events: ["*"], metadata: {} }, p.sk())).webhook_endpoint!;
  });
  afterAll(async () => {
    await p?.close();
    await receiver?.close();
  });

  it("delivers each listed type for its action", async () => {
    const sk = p.sk();
    // Customers and payment methods.
    const cus = ok(await call(p.cus, "createCustomer", { email: "types@example.com", metadata: {} }, sk)).customer!;
    ok(await call(p.cus, "updateCustomer", { id: cus.id, name: "Typed", metadata: {} }, sk));
    const pm = await p.card("4242424242424242");
    ok(await call(p.pm, "attachPaymentMethod", { id: pm, customer: cus.id }, sk));
    ok(await call(p.pm, "detachPaymentMethod", { id: pm }, sk));
    // Automatic capture succeeds, then a refund.
    const paid = await p.intent({ amount: 2000, payment_method: await p.card("4242424242424242"), confirm: true });
    ok(await call(p.re, "createRefund", { payment_intent: paid.id, amount: 500, metadata: {} }, sk));
    // A decline.
    const declined = await p.intent({ amount: 1000 });
    await call(p.pi, "confirmPaymentIntent", { id: declined.id, payment_method: await p.card("4000000000000002") }, sk);
    // 3-D Secure.
    await p.intent({ payment_method: await p.card("4000002500003155"), confirm: true, return_url: "https://merchant.example/r" });
    // Manual capture.
    const manual = await p.intent({ amount: 3000, capture_method: "manual", payment_method: await p.card("4242424242424242"), confirm: true });
    ok(await call(p.pi, "capturePaymentIntent", { id: manual.id }, sk));
    // Cancel.
    const toCancel = await p.intent({ amount: 700 });
    ok(await call(p.pi, "cancelPaymentIntent", { id: toCancel.id, cancellation_reason: "abandoned" }, sk));
    // The dispute test card.
    await p.intent({ payment_method: await p.card("4000000000000259"), confirm: true });
    // Delete the customer last.
    ok(await call(p.cus, "deleteCustomer", { id: cus.id }, sk));

    const expected = EVENT_TYPES.filter((t) => !NOT_YET.has(t));
    const types = () => new Set(receiver.received.map((r) => JSON.parse(r.body).type as string));
    await waitFor(() => expected.every((t) => types().has(t)), 20_000, `all of ${expected.join(", ")}`).catch(() => {
      throw new Error(`missing: ${expected.filter((t) => !types().has(t)).join(", ")}`);
    });

    for (const r of receiver.received) {
      expect(verifyWebhookSignature(r.body, r.headers["payments-signature"] as string, endpoint.secret!)).toBe(true);
      const event = JSON.parse(r.body);
      expect(event.object).toBe("event");
      expect(event.livemode).toBe(false);
      expect(event.request.id).toMatch(/^req_/);
      const prefix = (event.type as string).split(".")[0];
      if (event.type !== "charge.dispute.created") expect(event.data.object.object).toBe(prefix);
    }
    const byType = (t: string) => receiver.received.map((r) => JSON.parse(r.body)).filter((e) => e.type === t);
    expect(byType("charge.refunded").some((e) => e.data.object.amount_refunded === 500)).toBe(true);
    expect(byType("payment_intent.payment_failed").some((e) => e.data.object.id === declined.id)).toBe(true);
    expect(byType("charge.captured").some((e) => e.data.object.payment_intent === manual.id)).toBe(true);
    expect(byType("payment_intent.canceled").some((e) => e.data.object.cancellation_reason === "abandoned")).toBe(true);
  });
});
