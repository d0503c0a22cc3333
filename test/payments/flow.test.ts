// The payment flow over real gRPC on each backend: every test card,
// automatic and manual capture, 3-D Secure, cancel, live mode without a
// processor, receipts.
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS } from "../support/core";
import { call, failed, ok, startPayments, type PaymentsCore } from "./helpers";

describe.each(BACKENDS)("payment flow on %s", (backend) => {
  let p: PaymentsCore;
  beforeAll(async () => {
    p = await startPayments(backend);
  });
  afterAll(async () => p?.close());

  it("4242 succeeds with create + confirm: true, with the charge embedded", async () => {
    const pm = await p.card("4242424242424242");
    const pi = await p.intent({ amount: 2000, currency: "usd", payment_method: pm, confirm: true, metadata: { order_id: "1" } });
    expect(pi.status).toBe("succeeded");
    expect(pi.amount_received).toBe(2000);
    expect(pi.amount_capturable).toBe(0);
    expect(pi.client_secret).toMatch(new RegExp(`^${pi.id}_secret_`));
    expect(pi.charges?.object).toBe("list");
    expect(pi.charges?.url).toBe(`/v1/charges?payment_intent=${pi.id}`);
    expect(pi.charges?.data).toHaveLength(1);
    const ch = pi.charges!.data[0];
    expect(ch).toMatchObject({ amount: 2000, amount_captured: 2000, currency: "usd", status: "succeeded", captured: true, payment_intent: pi.id });
    expect(ch.payment_method).toMatchObject({ id: pm, type: "card", card: { brand: "visa", last4: "4242" } });
    expect(ch.receipt_url).toBe(`${p.core.deps.settings.publicBaseUrl}/receipts/${ch.id}`);
    expect(pi.latest_charge).toBe(ch.id);
    const got = ok(await call(p.ch, "getCharge", { id: ch.id }, p.sk())).charge!;
    expect(got).toEqual(ch);
  });

  it("create, then confirm with payment_method, in two steps", async () => {
    const pi = await p.intent({ amount: 1500, currency: "eur" });
    expect(pi.status).toBe("requires_payment_method");
    const pm = await p.card("5555555555554444");
    const confirmed = ok(await call(p.pi, "confirmPaymentIntent", { id: pi.id, payment_method: pm }, p.sk())).payment_intent!;
    expect(confirmed.status).toBe("succeeded");
    expect(confirmed.charges!.data[0].payment_method!.card!.brand).toBe("mastercard");
  });

  const DECLINES: Array<[string, string, string]> = [
    ["4000000000000002", "card_declined", "generic_decline"],
    ["4000000000009995", "card_declined", "insufficient_funds"],
    ["4000000000009987", "card_declined", "lost_card"],
    ["4000000000009979", "card_declined", "stolen_card"],
    ["4000000000000069", "expired_card", "expired_card"],
    ["4000000000000127", "incorrect_cvc", "incorrect_cvc"],
    ["4000000000000119", "processing_error", "processing_error"],
    ["4000000000000341", "card_declined", "generic_decline"],
  ];
  it.each(DECLINES)("%s fails as %s / %s and returns to requires_payment_method", async (number, code, declineCode) => {
    const pm = await p.card(number); // creating (attaching) the method works for every test card
    const pi = await p.intent({ amount: 1000, currency: "usd" });
    const out = await call(p.pi, "confirmPaymentIntent", { id: pi.id, payment_method: pm }, p.sk());
    const err = failed(out);
    expect(out.error!.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err).toMatchObject({ type: "card_error", code, decline_code: declineCode, payment_intent: pi.id, payment_method: pm });
    const after = ok(await call(p.pi, "getPaymentIntent", { id: pi.id }, p.sk())).payment_intent!;
    expect(after.status).toBe("requires_payment_method");
    expect(after.last_payment_error).toMatchObject({ type: "card_error", code, decline_code: declineCode });
    expect(after.payment_method).toBeUndefined();
    expect(after.charges!.data).toHaveLength(1);
    expect(after.charges!.data[0]).toMatchObject({ status: "failed", failure_code: code, decline_code: declineCode, captured: false });
    // A declined intent can be retried with another card.
    const good = await p.card("4242424242424242");
    const retried = ok(await call(p.pi, "confirmPaymentIntent", { id: pi.id, payment_method: good }, p.sk())).payment_intent!;
    expect(retried.status).toBe("succeeded");
    expect(retried.last_payment_error).toBeUndefined();
    expect(retried.charges!.data.map((c) => c.status)).toEqual(["succeeded", "failed"]);
  });

  it.each(["4000002500003155", "4000002760003184"])("%s requires 3-D Secure, completed by authenticate", async (number) => {
    const pm = await p.card(number);
    const pi = await p.intent({ amount: 3000, currency: "usd", payment_method: pm, confirm: true, return_url: "https://merchant.example/return" });
    expect(pi.status).toBe("requires_action");
    expect(pi.next_action).toEqual({
      type: "redirect_to_url",
      redirect_to_url: { url: `${p.core.deps.settings.publicBaseUrl}/v1/payment_intents/${pi.id}/authenticate`, return_url: "https://merchant.example/return" },
    });
    expect(pi.charges!.data).toHaveLength(0);
    // With the publishable key and the client secret, as handleCardAction does.
    const pk = p.core.metadata(p.core.keys.publishable);
    const done = ok(await call(p.pi, "authenticatePaymentIntent", { id: pi.id, client_secret: pi.client_secret }, pk)).payment_intent!;
    expect(done.status).toBe("succeeded");
    expect(done.next_action).toBeUndefined();
    expect(done.amount_received).toBe(3000);
  });

  it("3-D Secure with manual capture ends in requires_capture, then captures", async () => {
    const pm = await p.card("4000002500003155");
    const pi = await p.intent({ amount: 4100, capture_method: "manual", payment_method: pm, confirm: true });
    expect(pi.status).toBe("requires_action");
    const authed = ok(await call(p.pi, "authenticatePaymentIntent", { id: pi.id }, p.sk())).payment_intent!;
    expect(authed).toMatchObject({ status: "requires_capture", amount_capturable: 4100, amount_received: 0 });
    const cap = ok(await call(p.pi, "capturePaymentIntent", { id: pi.id }, p.sk())).payment_intent!;
    expect(cap).toMatchObject({ status: "succeeded", amount_received: 4100 });
  });

  it("one idempotency key, many concurrent creates: one intent, the same answer replayed", async () => {
    const md = () => p.core.metadata(p.core.keys.secret, { "idempotency-key": `order-${Date.now()}` });
    const key = md();
    const outs = await Promise.all(
      Array.from({ length: 20 }, () => call(p.pi, "createPaymentIntent", { amount: 777, currency: "usd", payment_method_types: [], metadata: {} }, key.clone())),
    );
    const ids = new Set(outs.filter((o) => o.value).map((o) => o.value!.payment_intent!.id));
    expect(ids.size).toBe(1);
    for (const o of outs.filter((o) => o.detail)) expect(o.detail!.type).toBe("idempotency_error");
    const rows = await p.core.deps.db("payment_intents").where({ merchant_id: p.core.merchantId, amount: 777 });
    expect(rows).toHaveLength(1);
  });

  it("a failed 3-D Secure returns the intent to requires_payment_method", async () => {
    const pm = await p.card("4000002760003184");
    const pi = await p.intent({ payment_method: pm, confirm: true });
    const failedAuth = ok(await call(p.pi, "authenticatePaymentIntent", { id: pi.id, outcome: "fail" }, p.sk())).payment_intent!;
    expect(failedAuth.status).toBe("requires_payment_method");
    expect(failedAuth.last_payment_error?.code).toBe("payment_intent_authentication_failure");
    const again = failed(await call(p.pi, "authenticatePaymentIntent", { id: pi.id }, p.sk()));
    expect(again.code).toBe("payment_intent_unexpected_state");
  });

  it("4000000000000259 succeeds, then the charge is disputed", async () => {
    const pm = await p.card("4000000000000259");
    const pi = await p.intent({ payment_method: pm, confirm: true });
    expect(pi.status).toBe("succeeded");
    expect(pi.charges!.data[0].disputed).toBe(true);
    const events = await p.core.deps.db("events").where({ merchant_id: p.core.merchantId, type: "charge.dispute.created" });
    expect(events.some((e) => JSON.parse(e.data).charge === pi.charges!.data[0].id)).toBe(true);
  });

  it("manual capture: full", async () => {
    const pm = await p.card("4242424242424242");
    const pi = await p.intent({ amount: 5000, capture_method: "manual", payment_method: pm, confirm: true });
    expect(pi.status).toBe("requires_capture");
    expect(pi.amount_capturable).toBe(5000);
    expect(pi.amount_received).toBe(0);
    expect(pi.charges!.data[0]).toMatchObject({ captured: false, amount_captured: 0, status: "succeeded" });
    const cap = ok(await call(p.pi, "capturePaymentIntent", { id: pi.id }, p.sk())).payment_intent!;
    expect(cap.status).toBe("succeeded");
    expect(cap.amount_received).toBe(5000);
    expect(cap.amount_capturable).toBe(0);
    expect(cap.charges!.data[0]).toMatchObject({ captured: true, amount_captured: 5000 });
    expect(failed(await call(p.pi, "capturePaymentIntent", { id: pi.id }, p.sk())).code).toBe("payment_intent_unexpected_state");
  });

  it("manual capture: partial, and never more than capturable", async () => {
    const pm = await p.card("4242424242424242");
    const pi = await p.intent({ amount: 5000, capture_method: "manual", payment_method: pm, confirm: true });
    const tooMuch = failed(await call(p.pi, "capturePaymentIntent", { id: pi.id, amount_to_capture: 5001 }, p.sk()));
    expect(tooMuch).toMatchObject({ type: "invalid_request_error", code: "parameter_invalid", param: "amount_to_capture" });
    const cap = ok(await call(p.pi, "capturePaymentIntent", { id: pi.id, amount_to_capture: 1234 }, p.sk())).payment_intent!;
    expect(cap).toMatchObject({ status: "succeeded", amount_received: 1234, amount_capturable: 0 });
    expect(cap.charges!.data[0]).toMatchObject({ amount: 5000, amount_captured: 1234, captured: true });
  });

  it("cancel from each cancellable state; not after success", async () => {
    const rpm = await p.intent({});
    const pm = await p.card("4242424242424242");
    const rc = await p.intent({ payment_method: pm });
    expect(rc.status).toBe("requires_confirmation");
    const ra = await p.intent({ payment_method: await p.card("4000002760003184"), confirm: true });
    const rcap = await p.intent({ payment_method: pm, capture_method: "manual", confirm: true });
    for (const pi of [rpm, rc, ra, rcap]) {
      const c = ok(await call(p.pi, "cancelPaymentIntent", { id: pi.id, cancellation_reason: "requested_by_customer" }, p.sk())).payment_intent!;
      expect(c.status).toBe("canceled");
      expect(c.cancellation_reason).toBe("requested_by_customer");
      expect(c.canceled_at).toBeGreaterThan(0);
      expect(c.amount_capturable).toBe(0);
    }
    const done = await p.intent({ payment_method: pm, confirm: true });
    const err = failed(await call(p.pi, "cancelPaymentIntent", { id: done.id }, p.sk()));
    expect(err).toMatchObject({ type: "invalid_request_error", code: "payment_intent_unexpected_state", payment_intent: done.id });
    expect(err.message).toContain("succeeded");
  });

  it("illegal moves name the current status", async () => {
    const pm = await p.card("4242424242424242");
    const rpm = await p.intent({});
    expect(failed(await call(p.pi, "capturePaymentIntent", { id: rpm.id }, p.sk())).message).toContain("requires_payment_method");
    expect(failed(await call(p.pi, "authenticatePaymentIntent", { id: rpm.id }, p.sk())).code).toBe("payment_intent_unexpected_state");
    const succeeded = await p.intent({ payment_method: pm, confirm: true });
    for (const [method, req] of [
      ["confirmPaymentIntent", { id: succeeded.id, payment_method: pm }],
      ["updatePaymentIntent", { id: succeeded.id, amount: 10, payment_method_types: [], metadata: {} }],
      ["capturePaymentIntent", { id: succeeded.id }],
    ] as const) {
      const err = failed(await call(p.pi, method as "confirmPaymentIntent", req as never, p.sk()));
      expect(err.code, method).toBe("payment_intent_unexpected_state");
      expect(err.message).toContain("succeeded");
    }
    const action = await p.intent({ payment_method: await p.card("4000002500003155"), confirm: true });
    const capturable = await p.intent({ payment_method: pm, capture_method: "manual", confirm: true });
    for (const [intent, method, req] of [
      [action, "confirmPaymentIntent", { id: action.id, payment_method: pm }],
      [action, "capturePaymentIntent", { id: action.id }],
      [action, "updatePaymentIntent", { id: action.id, description: "x", payment_method_types: [], metadata: {} }],
      [capturable, "confirmPaymentIntent", { id: capturable.id }],
      [capturable, "authenticatePaymentIntent", { id: capturable.id }],
      [capturable, "updatePaymentIntent", { id: capturable.id, payment_method: pm, payment_method_types: [], metadata: {} }],
    ] as const) {
      const err = failed(await call(p.pi, method as "confirmPaymentIntent", req as never, p.sk()));
      expect(err.code, method).toBe("payment_intent_unexpected_state");
      expect(err.message).toContain(intent.status);
    }
    const canceled = await p.intent({});
    ok(await call(p.pi, "cancelPaymentIntent", { id: canceled.id }, p.sk()));
    expect(failed(await call(p.pi, "confirmPaymentIntent", { id: canceled.id, payment_method: pm }, p.sk())).message).toContain("canceled");
    expect(failed(await call(p.pi, "cancelPaymentIntent", { id: canceled.id }, p.sk())).message).toContain("canceled");
  });

  it("update changes an unconfirmed intent and merges metadata", async () => {
    const pi = await p.intent({ metadata: { a: "1", b: "2" } });
    const pm = await p.card("4242424242424242");
    const up = ok(
      await call(p.pi, "updatePaymentIntent", { id: pi.id, amount: 999, description: "new", metadata: { a: "", c: "3" }, payment_method: pm, payment_method_types: [] }, p.sk()),
    ).payment_intent!;
    expect(up).toMatchObject({ amount: 999, description: "new", metadata: { b: "2", c: "3" }, status: "requires_confirmation", payment_method: pm });
    const confirmed = ok(await call(p.pi, "confirmPaymentIntent", { id: pi.id }, p.sk())).payment_intent!;
    expect(confirmed.amount_received).toBe(999);
  });

  it("validation errors name the param", async () => {
    const cases: Array<[object, string, string]> = [
      [{ amount: 0, currency: "usd" }, "amount", "parameter_missing"],
      [{ amount: -5, currency: "usd" }, "amount", "parameter_invalid"],
      [{ amount: 100000000, currency: "usd" }, "amount", "parameter_invalid"],
      [{ amount: 100, currency: "" }, "currency", "parameter_missing"],
      [{ amount: 100, currency: "USD" }, "currency", "parameter_invalid"],
      [{ amount: 100, currency: "usd", capture_method: "later" }, "capture_method", "parameter_invalid"],
      [{ amount: 100, currency: "usd", confirm: true }, "payment_method", "parameter_missing"],
      [{ amount: 100, currency: "usd", payment_method: "pm_nope" }, "payment_method", "resource_missing"],
      [{ amount: 100, currency: "usd", customer_id: "cus_nope" }, "customer_id", "resource_missing"],
    ];
    for (const [req, param, code] of cases) {
      const err = failed(await call(p.pi, "createPaymentIntent", { payment_method_types: [], metadata: {}, ...req } as never, p.sk()));
      expect(err, JSON.stringify(req)).toMatchObject({ type: "invalid_request_error", param, code });
    }
    const card = failed(await call(p.pm, "createPaymentMethod", { type: "card", card: { number: "4242424242424242", exp_month: 12, exp_year: 2025, cvc: "123" }, metadata: {} }, p.sk()));
    expect(card).toMatchObject({ type: "card_error", code: "invalid_expiry_year", param: "card[exp_year]" });
  });

  it("live mode has no processor: confirm fails with api_error and nothing is charged", async () => {
    const live = p.core.metadata(p.core.keys.liveSecret);
    const pm = ok(await call(p.pm, "createPaymentMethod", { type: "card", card: { number: "4242424242424242", exp_month: 1, exp_year: 2040 }, metadata: {} }, live)).payment_method!;
    expect(pm.livemode).toBe(true);
    const pi = ok(await call(p.pi, "createPaymentIntent", { amount: 100, currency: "usd", payment_method_types: [], metadata: {} }, live)).payment_intent!;
    const out = await call(p.pi, "confirmPaymentIntent", { id: pi.id, payment_method: pm.id }, live);
    const err = failed(out);
    expect(out.error!.code).toBe(grpc.status.UNIMPLEMENTED); // HTTP 501: a missing capability, not retryable
    expect(err.type).toBe("api_error");
    expect(err.message).toMatch(/no payment processor is configured/i);
    const after = ok(await call(p.pi, "getPaymentIntent", { id: pi.id }, live)).payment_intent!;
    expect(after.status).toBe("requires_payment_method");
    expect(after.charges!.data).toHaveLength(0);
    expect(failed(await call(p.pi, "createPaymentIntent", { amount: 100, currency: "usd", payment_method: pm.id, confirm: true, payment_method_types: [], metadata: {} }, live)).type).toBe("api_error");
  });

  it("receipts render escaped HTML without a key", async () => {
    const pi = await p.intent({ amount: 123456, currency: "jpy", payment_method: await p.card("4242424242424242"), confirm: true, description: "<script>x</script>" });
    const ch = pi.charges!.data[0];
    const page = ok(await call(p.receipts, "getReceipt", { charge_id: ch.id }, new grpc.Metadata())).page!;
    expect(page.content_type).toBe("text/html; charset=utf-8");
    const html = page.data.toString("utf8");
    expect(html).toContain("¥123,456");
    expect(html).toContain("Visa •••• 4242");
    expect(html).toContain("Test Merchant");
    expect(html).toContain("&lt;script&gt;x&lt;/script&gt;");
    expect(html).not.toContain("<script>");
    expect(html).toContain("Amount paid");
    expect(failed(await call(p.receipts, "getReceipt", { charge_id: "ch_missing" }, new grpc.Metadata())).code).toBe("resource_missing");
    const held = await p.intent({ amount: 999, payment_method: await p.card("4242424242424242"), capture_method: "manual", confirm: true });
    const heldPage = ok(await call(p.receipts, "getReceipt", { charge_id: held.charges!.data[0].id }, new grpc.Metadata())).page!.data.toString("utf8");
    expect(heldPage).toContain("$9.99 authorized on");
    const declined = await call(p.pi, "createPaymentIntent", { amount: 100, currency: "usd", payment_method: await p.card("4000000000000002"), confirm: true, payment_method_types: [], metadata: {} }, p.sk());
    expect(failed(await call(p.receipts, "getReceipt", { charge_id: failed(declined).charge! }, new grpc.Metadata())).code).toBe("resource_missing");
  });
});
