// Fixes from the payments review, over real gRPC on each backend: saved
// cards stay with their customer, cancel releases a hold (and a partial
// capture the rest of it), publishable reads see a reduced intent, named
// error codes; and the version guards of the stores, exercised with a stale row.
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../../server/errors";
import { paymentIntentHandlers } from "../../server/payment_intents/service";
import type { AuthorizeRequest, Processor } from "../../server/processor/processor";
import { TestCardSimulator } from "../../server/processor/simulator";
import { refundHandlers } from "../../server/refunds/service";
import { allHandlers } from "../../server/services";
import { loadIntent, updateIntent } from "../../server/payment_intents/store";
import { addRefundedAmount } from "../../server/refunds/store";
import { BACKENDS } from "../support/core";
import { call, failed, ok, startPayments, type PaymentsCore } from "./helpers";

describe.each(BACKENDS)("payments review fixes on %s", (backend) => {
  let p: PaymentsCore;
  beforeAll(async () => {
    p = await startPayments(backend);
  });
  afterAll(async () => p?.close());

  const scope = () => ({ merchantId: p.core.merchantId, livemode: false });
  const eventsOf = async (type: string, id: string) =>
    (await p.core.deps.db("events").where({ merchant_id: p.core.merchantId, type }).orderBy("seq")).map((e) => JSON.parse(e.data)).filter((o) => o.id === id);

  it("a customer's saved card cannot pay a guest's or another customer's intent", async () => {
    const alice = ok(await call(p.cus, "createCustomer", { email: "alice@example.com", metadata: {} }, p.sk())).customer!;
    const bob = ok(await call(p.cus, "createCustomer", { email: "bob@example.com", metadata: {} }, p.sk())).customer!;
    const pm = await p.card("4242424242424242");
    ok(await call(p.pm, "attachPaymentMethod", { id: pm, customer: alice.id }, p.sk()));

    // On create (with and without confirm), on update and on confirm of a guest intent.
    for (const req of [{ payment_method: pm }, { payment_method: pm, confirm: true }, { payment_method: pm, customer_id: bob.id }]) {
      const err = failed(await call(p.pi, "createPaymentIntent", { amount: 100, currency: "usd", payment_method_types: [], metadata: {}, ...req }, p.sk()));
      expect(err).toMatchObject({ type: "invalid_request_error", code: "parameter_invalid", param: "payment_method" });
    }
    const guest = await p.intent({ amount: 100 });
    const upd = failed(await call(p.pi, "updatePaymentIntent", { id: guest.id, payment_method: pm, payment_method_types: [], metadata: {} }, p.sk()));
    expect(upd).toMatchObject({ type: "invalid_request_error", param: "payment_method" });
    const conf = failed(await call(p.pi, "confirmPaymentIntent", { id: guest.id, payment_method: pm }, p.sk()));
    expect(conf).toMatchObject({ type: "invalid_request_error", param: "payment_method" });
    // Moving an intent away from the card's customer after choosing it: confirm refuses.
    const mine = await p.intent({ amount: 100, customer_id: alice.id, payment_method: pm });
    ok(await call(p.pi, "updatePaymentIntent", { id: mine.id, customer_id: "", payment_method_types: [], metadata: {} }, p.sk()));
    expect(failed(await call(p.pi, "confirmPaymentIntent", { id: mine.id }, p.sk())).param).toBe("payment_method");
    expect((await p.core.deps.db("charges").where({ payment_intent: guest.id })).length + (await p.core.deps.db("charges").where({ payment_intent: mine.id })).length).toBe(0);

    // The owner's intent works; an unattached card still pays a guest intent.
    const paid = await p.intent({ amount: 100, customer_id: alice.id, payment_method: pm, confirm: true });
    expect(paid.status).toBe("succeeded");
    expect((await p.intent({ amount: 100, payment_method: await p.card("4242424242424242"), confirm: true })).status).toBe("succeeded");
  });

  it("cancel from requires_capture releases the hold: charge refunded for the uncaptured amount, charge.refunded, receipt says so", async () => {
    const pi = await p.intent({ amount: 2500, capture_method: "manual", payment_method: await p.card("4242424242424242"), confirm: true });
    const chId = pi.charges!.data[0].id;
    const canceled = ok(await call(p.pi, "cancelPaymentIntent", { id: pi.id }, p.sk())).payment_intent!;
    expect(canceled).toMatchObject({ status: "canceled", amount_capturable: 0, amount_received: 0 });
    const expected = { id: chId, status: "succeeded", captured: false, amount: 2500, amount_captured: 0, amount_refunded: 2500, refunded: true };
    expect(canceled.charges!.data[0]).toMatchObject(expected);
    expect(ok(await call(p.ch, "getCharge", { id: chId }, p.sk())).charge).toMatchObject(expected);
    const refunded = await eventsOf("charge.refunded", chId);
    expect(refunded).toHaveLength(1);
    expect(refunded[0]).toMatchObject({ amount_refunded: 2500, refunded: true, captured: false });
    expect((await eventsOf("payment_intent.canceled", pi.id))[0].charges.data[0]).toMatchObject({ amount_refunded: 2500, refunded: true });
    const html = ok(await call(p.receipts, "getReceipt", { charge_id: chId }, new grpc.Metadata())).page!.data.toString("utf8");
    expect(html).toContain("$25.00 authorized, then released");
    expect(html).toContain("Authorization released");
    expect(html).not.toContain("paid");
    // Nothing left to refund on a released charge.
    const re = failed(await call(p.re, "createRefund", { charge: chId, metadata: {} }, p.sk()));
    expect(re).toMatchObject({ code: "charge_not_refundable" });
    expect(re.message).toContain("released");
  });

  it("a partial capture releases the rest: amount_refunded = amount − amount_captured; the captured part stays refundable", async () => {
    const pi = await p.intent({ amount: 5000, capture_method: "manual", payment_method: await p.card("4242424242424242"), confirm: true });
    const chId = pi.charges!.data[0].id;
    const cap = ok(await call(p.pi, "capturePaymentIntent", { id: pi.id, amount_to_capture: 1234 }, p.sk())).payment_intent!;
    const after = { amount: 5000, amount_captured: 1234, amount_refunded: 3766, captured: true, refunded: false };
    expect(cap.charges!.data[0]).toMatchObject(after);
    expect(ok(await call(p.ch, "getCharge", { id: chId }, p.sk())).charge).toMatchObject(after);
    expect((await eventsOf("charge.captured", chId))[0]).toMatchObject(after);
    expect((await eventsOf("charge.refunded", chId))[0]).toMatchObject(after);
    const page = ok(await call(p.receipts, "getReceipt", { charge_id: chId }, new grpc.Metadata())).page!.data.toString("utf8");
    expect(page).toContain("$12.34 paid");
    expect(page).not.toContain("Refunded");

    expect(failed(await call(p.re, "createRefund", { charge: chId, amount: 1235, metadata: {} }, p.sk()))).toMatchObject({ code: "amount_too_large" });
    ok(await call(p.re, "createRefund", { charge: chId, amount: 234, metadata: {} }, p.sk()));
    const partly = ok(await call(p.receipts, "getReceipt", { charge_id: chId }, new grpc.Metadata())).page!.data.toString("utf8");
    expect(partly).toContain("$2.34");
    const rest = ok(await call(p.re, "createRefund", { charge: chId, metadata: {} }, p.sk())).refund!;
    expect(rest.amount).toBe(1000);
    expect(ok(await call(p.ch, "getCharge", { id: chId }, p.sk())).charge).toMatchObject({ amount_refunded: 5000, refunded: true });
    expect(failed(await call(p.re, "createRefund", { charge: chId, amount: 1, metadata: {} }, p.sk())).code).toBe("charge_already_refunded");

    // A full capture releases nothing.
    const full = await p.intent({ amount: 700, capture_method: "manual", payment_method: await p.card("4242424242424242"), confirm: true });
    const fullCap = ok(await call(p.pi, "capturePaymentIntent", { id: full.id }, p.sk())).payment_intent!;
    expect(fullCap.charges!.data[0]).toMatchObject({ amount_captured: 700, amount_refunded: 0, refunded: false });
    expect(await eventsOf("charge.refunded", full.charges!.data[0].id)).toHaveLength(0);
  });

  it("a publishable key reads and confirms a reduced intent: no metadata, description, customer or card fingerprint", async () => {
    const cus = ok(await call(p.cus, "createCustomer", { email: "c@example.com", metadata: {} }, p.sk())).customer!;
    const pi = await p.intent({ amount: 1800, customer_id: cus.id, description: "order 7 for VIP", metadata: { internal: "margin 40%" } });
    const pk = p.core.metadata(p.core.keys.publishable);
    const got = ok(await call(p.pi, "getPaymentIntent", { id: pi.id, client_secret: pi.client_secret }, pk)).payment_intent!;
    expect(got).toMatchObject({
      id: pi.id,
      object: "payment_intent",
      amount: 1800,
      currency: "usd",
      status: "requires_payment_method",
      client_secret: pi.client_secret,
      created: pi.created,
      payment_method_types: ["card"],
      capture_method: "automatic",
      confirmation_method: "automatic",
      livemode: false,
      metadata: {},
    });
    expect(got.description).toBeUndefined();
    expect(got.customer_id).toBeUndefined();

    const pm = await p.card("4242424242424242", p.core.keys.publishable);
    const confirmed = ok(await call(p.pi, "confirmPaymentIntent", { id: pi.id, payment_method: pm, client_secret: pi.client_secret }, pk)).payment_intent!;
    expect(confirmed).toMatchObject({ status: "succeeded", payment_method: pm, metadata: {} });
    expect(confirmed.description).toBeUndefined();
    expect(confirmed.customer_id).toBeUndefined();
    const ch = confirmed.charges!.data[0];
    expect(ch).toMatchObject({ amount: 1800, status: "succeeded", payment_method: { id: pm, card: { brand: "visa", last4: "4242", fingerprint: "" } } });
    expect(ch.customer).toBeUndefined();
    expect(ch.description).toBeUndefined();
    // The secret key still sees everything.
    const full = ok(await call(p.pi, "getPaymentIntent", { id: pi.id }, p.sk())).payment_intent!;
    expect(full).toMatchObject({ description: "order 7 for VIP", customer_id: cus.id, metadata: { internal: "margin 40%" } });
    expect(full.charges!.data[0]).toMatchObject({ customer: cus.id, description: "order 7 for VIP" });
    expect(full.charges!.data[0].payment_method!.card!.fingerprint).not.toBe("");

    // 3-D Secure finished with the publishable key: reduced too.
    const action = await p.intent({ amount: 900, metadata: { secret: "x" }, description: "d", payment_method: await p.card("4000002500003155"), confirm: true });
    const authed = ok(await call(p.pi, "authenticatePaymentIntent", { id: action.id, client_secret: action.client_secret }, pk)).payment_intent!;
    expect(authed).toMatchObject({ status: "succeeded", metadata: {} });
    expect(authed.description).toBeUndefined();
  });

  it("the version guard refuses a write based on a stale intent row", async () => {
    const pi = await p.intent({ amount: 400 });
    const db = p.core.deps.db;
    const stale = await loadIntent(db, scope(), pi.id);
    await db.transaction((trx) => updateIntent(trx, stale, { description: "first" }, "update"));
    let err: unknown;
    await db
      .transaction((trx) => updateIntent(trx, stale, { description: "second" }, "update"))
      .catch((e) => {
        err = e;
      });
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).fields).toMatchObject({ code: "payment_intent_unexpected_state", payment_intent: pi.id });
    const row = await loadIntent(db, scope(), pi.id);
    expect(row).toMatchObject({ description: "first", version: Number(stale.version) + 1 });
    // A fresh row updates; a key set to undefined is left as it is (as knex's update does).
    await db.transaction((trx) => updateIntent(trx, row, { description: undefined, amount: 401 }, "update"));
    expect(await loadIntent(db, scope(), pi.id)).toMatchObject({ description: "first", amount: 401, version: Number(stale.version) + 2 });
  });

  it("the refund guard refuses a stale refunded total and a total beyond the charge", async () => {
    const pi = await p.intent({ amount: 1000, payment_method: await p.card("4242424242424242"), confirm: true });
    const ch = pi.charges!.data[0].id;
    const db = p.core.deps.db;
    expect(await db.transaction((trx) => addRefundedAmount(trx, ch, 0, 600, 1000))).toBe(true);
    // Another refund read amount_refunded = 0 before the first committed: updates nothing.
    expect(await db.transaction((trx) => addRefundedAmount(trx, ch, 0, 300, 1000))).toBe(false);
    // Fresh, but more than remains: nothing either.
    expect(await db.transaction((trx) => addRefundedAmount(trx, ch, 600, 401, 1000))).toBe(false);
    expect(await db.transaction((trx) => addRefundedAmount(trx, ch, 600, 400, 1000))).toBe(true);
    expect(ok(await call(p.ch, "getCharge", { id: ch }, p.sk())).charge).toMatchObject({ amount_refunded: 1000, refunded: true });
  });
});

/** The simulator, except that the processor refuses voids and refunds, with wording of its own. */
class RefusingProcessor implements Processor {
  private readonly sim = new TestCardSimulator();
  private readonly refusal = { ok: false as const, message: "ACQ-7781: merchant account 0042 frozen by risk team" };
  authorize(req: AuthorizeRequest) {
    return this.sim.authorize(req);
  }
  capture() {
    return this.sim.capture();
  }
  async cancel() {
    return this.refusal;
  }
  async refund() {
    return this.refusal;
  }
}

describe.each(BACKENDS)("processor refusals on %s", (backend) => {
  let p: PaymentsCore;
  beforeAll(async () => {
    const processors = { test: new RefusingProcessor() };
    p = await startPayments(backend, {
      handlers: (deps) => ({
        ...allHandlers(deps),
        PaymentIntentService: paymentIntentHandlers(deps, processors),
        RefundService: refundHandlers(deps, processors),
      }),
    });
  });
  afterAll(async () => p?.close());

  it("named error codes, no processor wording for the client, nothing changed", async () => {
    const held = await p.intent({ amount: 900, capture_method: "manual", payment_method: await p.card("4242424242424242"), confirm: true });
    const cancel = failed(await call(p.pi, "cancelPaymentIntent", { id: held.id }, p.sk()));
    expect(cancel).toMatchObject({ type: "invalid_request_error", code: "authorization_release_failed", payment_intent: held.id, charge: held.charges!.data[0].id });
    expect(cancel.message).not.toContain("ACQ");
    const still = ok(await call(p.pi, "getPaymentIntent", { id: held.id }, p.sk())).payment_intent!;
    expect(still).toMatchObject({ status: "requires_capture", amount_capturable: 900 });
    expect(still.charges!.data[0]).toMatchObject({ amount_refunded: 0, refunded: false });

    const paid = await p.intent({ amount: 500, payment_method: await p.card("4242424242424242"), confirm: true });
    const ch = paid.charges!.data[0].id;
    const refund = failed(await call(p.re, "createRefund", { charge: ch, metadata: {} }, p.sk()));
    expect(refund).toMatchObject({ type: "invalid_request_error", code: "refund_failed", charge: ch });
    expect(refund.message).not.toContain("ACQ");
    expect(refund.message).not.toContain("frozen");
    expect(ok(await call(p.ch, "getCharge", { id: ch }, p.sk())).charge).toMatchObject({ amount_refunded: 0, refunded: false });
    expect(await p.core.deps.db("refunds").where({ charge: ch })).toHaveLength(0);
  });
});
