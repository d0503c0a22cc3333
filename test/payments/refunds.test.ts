// Refunds: full, partial, many per charge, never more than remains, by
// charge or payment intent; and the concurrency guarantees: 50 concurrent
// confirms of one intent make one charge, concurrent refunds never exceed it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS } from "../support/core";
import { call, failed, ok, startPayments, type PaymentsCore } from "./helpers";

describe.each(BACKENDS)("refunds and concurrency on %s", (backend) => {
  let p: PaymentsCore;
  beforeAll(async () => {
    p = await startPayments(backend);
  });
  afterAll(async () => p?.close());

  async function paid(amount: number, capture_method?: string) {
    const pi = await p.intent({ amount, payment_method: await p.card("4242424242424242"), confirm: true, capture_method });
    return pi;
  }

  it("partial refunds add up; the last one makes the charge refunded; more is refused", async () => {
    const pi = await paid(1000);
    const ch = pi.charges!.data[0].id;
    const r1 = ok(await call(p.re, "createRefund", { charge: ch, amount: 300, reason: "requested_by_customer", metadata: { ticket: "42" } }, p.sk())).refund!;
    expect(r1).toMatchObject({ object: "refund", amount: 300, charge: ch, currency: "usd", reason: "requested_by_customer", status: "succeeded", payment_intent: pi.id, metadata: { ticket: "42" } });
    expect(r1.id).toMatch(/^re_/);
    let charge = ok(await call(p.ch, "getCharge", { id: ch }, p.sk())).charge!;
    expect(charge).toMatchObject({ amount_refunded: 300, refunded: false });

    const over = failed(await call(p.re, "createRefund", { charge: ch, amount: 701, metadata: {} }, p.sk()));
    expect(over).toMatchObject({ type: "invalid_request_error", code: "amount_too_large", param: "amount" });
    expect(over.message).toContain("700");

    const r2 = ok(await call(p.re, "createRefund", { payment_intent: pi.id, amount: 200, reason: "duplicate", metadata: {} }, p.sk())).refund!;
    expect(r2.charge).toBe(ch);
    const rest = ok(await call(p.re, "createRefund", { charge: ch, metadata: {} }, p.sk())).refund!;
    expect(rest.amount).toBe(500);
    charge = ok(await call(p.ch, "getCharge", { id: ch }, p.sk())).charge!;
    expect(charge).toMatchObject({ amount_refunded: 1000, refunded: true });
    expect(failed(await call(p.re, "createRefund", { charge: ch, amount: 1, metadata: {} }, p.sk())).code).toBe("charge_already_refunded");

    const list = ok(await call(p.re, "listRefunds", { charge: ch }, p.sk()));
    expect(list.data.map((r) => r.id)).toEqual([rest.id, r2.id, r1.id]);
    expect(ok(await call(p.re, "getRefund", { id: r1.id }, p.sk())).refund).toEqual(r1);
  });

  it("refuses bad refund requests, naming the param", async () => {
    const pi = await paid(1000);
    const ch = pi.charges!.data[0].id;
    expect(failed(await call(p.re, "createRefund", { metadata: {} }, p.sk()))).toMatchObject({ code: "parameter_missing", param: "charge" });
    expect(failed(await call(p.re, "createRefund", { charge: ch, reason: "because", metadata: {} }, p.sk()))).toMatchObject({ code: "parameter_invalid", param: "reason" });
    expect(failed(await call(p.re, "createRefund", { charge: ch, amount: -1, metadata: {} }, p.sk()))).toMatchObject({ code: "parameter_invalid", param: "amount" });
    expect(failed(await call(p.re, "createRefund", { charge: "ch_nope", metadata: {} }, p.sk()))).toMatchObject({ code: "resource_missing", param: "charge" });
    const uncaptured = await paid(500, "manual");
    expect(failed(await call(p.re, "createRefund", { payment_intent: uncaptured.id, metadata: {} }, p.sk())).code).toBe("charge_not_refundable");
    const partial = await paid(800, "manual");
    ok(await call(p.pi, "capturePaymentIntent", { id: partial.id, amount_to_capture: 300 }, p.sk()));
    const tooBig = failed(await call(p.re, "createRefund", { payment_intent: partial.id, amount: 301, metadata: {} }, p.sk()));
    expect(tooBig.code).toBe("amount_too_large");
    expect(ok(await call(p.re, "createRefund", { payment_intent: partial.id, metadata: {} }, p.sk())).refund!.amount).toBe(300);
  });

  it("50 concurrent confirms of one intent make exactly one charge", async () => {
    const pm = await p.card("4242424242424242");
    const pi = await p.intent({ amount: 4200, payment_method: pm });
    const outs = await Promise.all(Array.from({ length: 50 }, () => call(p.pi, "confirmPaymentIntent", { id: pi.id }, p.sk())));
    const wins = outs.filter((o) => o.value);
    expect(wins).toHaveLength(1);
    for (const o of outs.filter((o) => o.detail)) expect(o.detail!.code).toBe("payment_intent_unexpected_state");
    const charges = ok(await call(p.ch, "listCharges", { payment_intent: pi.id, limit: 100 }, p.sk()));
    expect(charges.data).toHaveLength(1);
    const after = ok(await call(p.pi, "getPaymentIntent", { id: pi.id }, p.sk())).payment_intent!;
    expect(after).toMatchObject({ status: "succeeded", amount_received: 4200 });
    const events = await p.core.deps.db("events").where({ type: "payment_intent.succeeded" });
    expect(events.filter((e) => JSON.parse(e.data).id === pi.id)).toHaveLength(1);
  });

  it("concurrent captures of one intent capture once", async () => {
    const pi = await paid(900, "manual");
    const outs = await Promise.all(Array.from({ length: 20 }, () => call(p.pi, "capturePaymentIntent", { id: pi.id, amount_to_capture: 600 }, p.sk())));
    expect(outs.filter((o) => o.value)).toHaveLength(1);
    const charge = ok(await call(p.ch, "getCharge", { id: pi.charges!.data[0].id }, p.sk())).charge!;
    expect(charge.amount_captured).toBe(600);
  });

  it("concurrent refunds never exceed the charge", async () => {
    const pi = await paid(1000);
    const ch = pi.charges!.data[0].id;
    const outs = await Promise.all(Array.from({ length: 30 }, () => call(p.re, "createRefund", { charge: ch, amount: 70, metadata: {} }, p.sk())));
    const made = outs.filter((o) => o.value).length;
    expect(made).toBe(14); // 14 × 70 = 980 ≤ 1000 < 15 × 70
    for (const o of outs.filter((o) => o.detail)) expect(o.detail!.code).toBe("amount_too_large");
    const charge = ok(await call(p.ch, "getCharge", { id: ch }, p.sk())).charge!;
    expect(charge.amount_refunded).toBe(980);
    const rows = await p.core.deps.db("refunds").where({ charge: ch });
    expect(rows.reduce((s, r) => s + Number(r.amount), 0)).toBe(980);
  });

  it("writes each change's events in its transaction", async () => {
    const pi = await paid(700);
    ok(await call(p.re, "createRefund", { payment_intent: pi.id, metadata: {} }, p.sk()));
    const rows = await p.core.deps.db("events").where({ merchant_id: p.core.merchantId }).orderBy("seq");
    const mine = rows.filter((e) => {
      const o = JSON.parse(e.data);
      return o.id === pi.id || o.payment_intent === pi.id;
    });
    expect(mine.map((e) => e.type)).toEqual(["payment_intent.created", "charge.succeeded", "payment_intent.succeeded", "refund.created", "charge.refunded"]);
    const refunded = JSON.parse(mine[4].data);
    expect(refunded).toMatchObject({ object: "charge", amount_refunded: 700, refunded: true });
    // Event payloads never carry the client secret.
    expect(JSON.parse(mine[0].data).client_secret).toBe("");
  });
});
