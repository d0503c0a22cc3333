// Who may see what: publishable-key limits (client secret), cross-merchant
// and cross-mode isolation (404, never 403).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS } from "../support/core";
import { call, failed, ok, startPayments, type PaymentsCore } from "./helpers";

describe.each(BACKENDS)("access on %s", (backend) => {
  let p: PaymentsCore;
  beforeAll(async () => {
    p = await startPayments(backend);
  });
  afterAll(async () => p?.close());

  const pk = () => p.core.metadata(p.core.keys.publishable);

  it("a publishable key creates payment methods, and reads/confirms an intent only with its client secret", async () => {
    const pm = await p.card("4242424242424242", p.core.keys.publishable);
    const pi = await p.intent({ amount: 2500 });
    const noSecret = failed(await call(p.pi, "getPaymentIntent", { id: pi.id }, pk()));
    expect(noSecret).toMatchObject({ type: "authentication_error", code: "unauthorized" });
    const wrong = failed(await call(p.pi, "getPaymentIntent", { id: pi.id, client_secret: `${pi.id}_secret_wrongwrongwrongwrongwrongwrongwr` }, pk()));
    expect(wrong.code).toBe("resource_missing");
    const other = await p.intent({ amount: 1 });
    expect(failed(await call(p.pi, "getPaymentIntent", { id: pi.id, client_secret: other.client_secret }, pk())).code).toBe("resource_missing");
    const got = ok(await call(p.pi, "getPaymentIntent", { id: pi.id, client_secret: pi.client_secret }, pk())).payment_intent!;
    expect(got.id).toBe(pi.id);
    expect(failed(await call(p.pi, "confirmPaymentIntent", { id: pi.id, payment_method: pm }, pk())).code).toBe("unauthorized");
    const confirmed = ok(await call(p.pi, "confirmPaymentIntent", { id: pi.id, payment_method: pm, client_secret: pi.client_secret }, pk())).payment_intent!;
    expect(confirmed.status).toBe("succeeded");
  });

  it("a publishable key cannot confirm an intent with confirmation_method manual", async () => {
    const pm = await p.card("4242424242424242");
    const pi = await p.intent({ confirmation_method: "manual", payment_method: pm });
    const err = failed(await call(p.pi, "confirmPaymentIntent", { id: pi.id, client_secret: pi.client_secret }, pk()));
    expect(err).toMatchObject({ type: "authentication_error", code: "unauthorized" });
    expect(ok(await call(p.pi, "confirmPaymentIntent", { id: pi.id }, p.sk())).payment_intent!.status).toBe("succeeded");
  });

  it("a publishable key can do nothing else", async () => {
    const pi = await p.intent({});
    const calls: Array<Promise<{ detail?: { code: string } }>> = [
      call(p.pi, "createPaymentIntent", { amount: 100, currency: "usd", payment_method_types: [], metadata: {} }, pk()),
      call(p.pi, "listPaymentIntents", {}, pk()),
      call(p.pi, "capturePaymentIntent", { id: pi.id }, pk()),
      call(p.pi, "cancelPaymentIntent", { id: pi.id }, pk()),
      call(p.pi, "updatePaymentIntent", { id: pi.id, payment_method_types: [], metadata: {} }, pk()),
      call(p.cus, "createCustomer", { metadata: {} }, pk()),
      call(p.ch, "listCharges", {}, pk()),
      call(p.re, "createRefund", { charge: "ch_x", metadata: {} }, pk()),
      call(p.pm, "getPaymentMethod", { id: "pm_x" }, pk()),
    ];
    for (const out of await Promise.all(calls)) expect(out.detail?.code).toBe("unauthorized");
  });

  it("another merchant's objects are 404, never 403", async () => {
    const pm = await p.card("4242424242424242");
    const cus = ok(await call(p.cus, "createCustomer", { email: "a@example.com", metadata: {} }, p.sk())).customer!;
    const pi = await p.intent({ payment_method: pm, confirm: true, customer_id: cus.id });
    const ch = pi.charges!.data[0].id;
    const re = ok(await call(p.re, "createRefund", { charge: ch, amount: 1, metadata: {} }, p.sk())).refund!;
    const other = p.core.metadata(p.core.otherMerchant.secret);
    const outs = await Promise.all([
      call(p.pi, "getPaymentIntent", { id: pi.id }, other),
      call(p.pi, "cancelPaymentIntent", { id: pi.id }, other),
      call(p.pi, "confirmPaymentIntent", { id: pi.id }, other),
      call(p.pm, "getPaymentMethod", { id: pm }, other),
      call(p.cus, "getCustomer", { id: cus.id }, other),
      call(p.cus, "deleteCustomer", { id: cus.id }, other),
      call(p.ch, "getCharge", { id: ch }, other),
      call(p.re, "getRefund", { id: re.id }, other),
      call(p.re, "createRefund", { charge: ch, metadata: {} }, other),
    ]);
    for (const out of outs) expect(out.detail).toMatchObject({ type: "invalid_request_error", code: "resource_missing" });
    // Using another merchant's payment method or customer in one's own objects is a 404 too.
    const theirs = ok(await call(p.pi, "createPaymentIntent", { amount: 100, currency: "usd", payment_method_types: [], metadata: {} }, other)).payment_intent!;
    expect(failed(await call(p.pi, "confirmPaymentIntent", { id: theirs.id, payment_method: pm }, other))).toMatchObject({ code: "resource_missing", param: "payment_method" });
    expect(failed(await call(p.pm, "attachPaymentMethod", { id: pm, customer: cus.id }, other)).code).toBe("resource_missing");
    // And lists do not show them.
    expect(ok(await call(p.ch, "listCharges", { limit: 100 }, other)).data.map((c) => c.id)).not.toContain(ch);
    expect(ok(await call(p.cus, "listCustomers", { limit: 100 }, other)).data).toHaveLength(0);
  });

  it("test objects are invisible to live keys and the other way round", async () => {
    const live = p.core.metadata(p.core.keys.liveSecret);
    const pm = await p.card("4242424242424242");
    const pi = await p.intent({ payment_method: pm, confirm: true });
    expect(failed(await call(p.pi, "getPaymentIntent", { id: pi.id }, live)).code).toBe("resource_missing");
    expect(failed(await call(p.pm, "getPaymentMethod", { id: pm }, live)).code).toBe("resource_missing");
    expect(failed(await call(p.ch, "getCharge", { id: pi.charges!.data[0].id }, live)).code).toBe("resource_missing");
    expect(failed(await call(p.re, "createRefund", { payment_intent: pi.id, metadata: {} }, live)).code).toBe("resource_missing");
    const livePi = ok(await call(p.pi, "createPaymentIntent", { amount: 100, currency: "usd", payment_method_types: [], metadata: {} }, live)).payment_intent!;
    expect(livePi.livemode).toBe(true);
    expect(failed(await call(p.pi, "getPaymentIntent", { id: livePi.id }, p.sk())).code).toBe("resource_missing");
    expect(failed(await call(p.pi, "authenticatePaymentIntent", { id: livePi.id }, live)).code).toBe("test_mode_only");
    const livePk = p.core.metadata(p.core.keys.livePublishable);
    expect(failed(await call(p.pi, "getPaymentIntent", { id: pi.id, client_secret: pi.client_secret }, livePk)).code).toBe("resource_missing");
  });
});
