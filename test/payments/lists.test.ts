// Lists (newest first, limit, cursors both ways, has_more), customers and
// attaching payment methods.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS } from "../support/core";
import { call, failed, ok, startPayments, type PaymentsCore } from "./helpers";

describe.each(BACKENDS)("lists and customers on %s", (backend) => {
  let p: PaymentsCore;
  beforeAll(async () => {
    p = await startPayments(backend);
  });
  afterAll(async () => p?.close());

  it("paginates payment intents newest first, forwards and backwards", async () => {
    const cus = ok(await call(p.cus, "createCustomer", { metadata: {} }, p.sk())).customer!;
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) ids.unshift((await p.intent({ amount: 100 + i, customer_id: cus.id })).id); // newest first
    const first = ok(await call(p.pi, "listPaymentIntents", { customer: cus.id }, p.sk()));
    expect(first).toMatchObject({ object: "list", has_more: true, url: "/v1/payment_intents" });
    expect(first.data.map((x) => x.id)).toEqual(ids.slice(0, 10));
    const second = ok(await call(p.pi, "listPaymentIntents", { customer: cus.id, starting_after: ids[9] }, p.sk()));
    expect(second.data.map((x) => x.id)).toEqual(ids.slice(10, 20));
    expect(second.has_more).toBe(true);
    const last = ok(await call(p.pi, "listPaymentIntents", { customer: cus.id, starting_after: ids[19], limit: 10 }, p.sk()));
    expect(last.data.map((x) => x.id)).toEqual(ids.slice(20));
    expect(last.has_more).toBe(false);
    const back = ok(await call(p.pi, "listPaymentIntents", { customer: cus.id, ending_before: ids[20], limit: 5 }, p.sk()));
    expect(back.data.map((x) => x.id)).toEqual(ids.slice(15, 20));
    expect(back.has_more).toBe(true);
    const top = ok(await call(p.pi, "listPaymentIntents", { customer: cus.id, ending_before: ids[3], limit: 10 }, p.sk()));
    expect(top.data.map((x) => x.id)).toEqual(ids.slice(0, 3));
    expect(top.has_more).toBe(false);
    const all = ok(await call(p.pi, "listPaymentIntents", { customer: cus.id, limit: 100 }, p.sk()));
    expect(all.data).toHaveLength(25);
    expect(all.has_more).toBe(false);
  });

  it("checks list parameters", async () => {
    expect(failed(await call(p.pi, "listPaymentIntents", { limit: 0 }, p.sk()))).toMatchObject({ code: "parameter_invalid", param: "limit" });
    expect(failed(await call(p.ch, "listCharges", { limit: 101 }, p.sk()))).toMatchObject({ code: "parameter_invalid", param: "limit" });
    expect(failed(await call(p.re, "listRefunds", { starting_after: "re_nope" }, p.sk()))).toMatchObject({ code: "resource_missing", param: "starting_after" });
    expect(failed(await call(p.cus, "listCustomers", { starting_after: "cus_a", ending_before: "cus_b" }, p.sk())).param).toBe("ending_before");
  });

  it("lists embed each intent's charges without a query per intent, and list charges by intent", async () => {
    const pm = await p.card("4242424242424242");
    const cus = ok(await call(p.cus, "createCustomer", { metadata: {} }, p.sk())).customer!;
    const a = await p.intent({ customer_id: cus.id, payment_method: pm, confirm: true });
    const b = await p.intent({ customer_id: cus.id });
    const list = ok(await call(p.pi, "listPaymentIntents", { customer: cus.id }, p.sk()));
    expect(list.data.map((x) => [x.id, x.charges!.data.length])).toEqual([
      [b.id, 0],
      [a.id, 1],
    ]);
    const charges = ok(await call(p.ch, "listCharges", { customer: cus.id }, p.sk()));
    expect(charges).toMatchObject({ object: "list", url: "/v1/charges", has_more: false });
    expect(charges.data.map((c) => c.payment_intent)).toEqual([a.id]);
  });

  it("customers: create, get, update (merging metadata), list by email, delete", async () => {
    const created = ok(
      await call(p.cus, "createCustomer", { email: "jane@example.com", name: "Jane", address: { city: "Paris", country: "FR" }, metadata: { a: "1" } }, p.sk()),
    ).customer!;
    expect(created).toMatchObject({ object: "customer", email: "jane@example.com", name: "Jane", address: { city: "Paris", country: "FR" }, livemode: false });
    expect(created.id).toMatch(/^cus_/);
    const updated = ok(await call(p.cus, "updateCustomer", { id: created.id, phone: "+33 1", metadata: { a: "", b: "2" } }, p.sk())).customer!;
    expect(updated).toMatchObject({ phone: "+33 1", name: "Jane", metadata: { b: "2" } });
    expect(ok(await call(p.cus, "getCustomer", { id: created.id }, p.sk())).customer).toEqual(updated);
    const byEmail = ok(await call(p.cus, "listCustomers", { email: "jane@example.com" }, p.sk()));
    expect(byEmail.data.map((c) => c.id)).toEqual([created.id]);
    expect(failed(await call(p.cus, "createCustomer", { email: "not-an-email", metadata: {} }, p.sk()))).toMatchObject({ param: "email" });

    const pm = await p.card("4242424242424242");
    const attached = ok(await call(p.pm, "attachPaymentMethod", { id: pm, customer: created.id }, p.sk())).payment_method!;
    expect(attached.customer).toBe(created.id);
    const pms = ok(await call(p.pm, "listPaymentMethods", { customer: created.id }, p.sk()));
    expect(pms).toMatchObject({ object: "list", url: "/v1/payment_methods", has_more: false });
    expect(pms.data.map((x) => x.id)).toEqual([pm]);

    const deleted = ok(await call(p.cus, "deleteCustomer", { id: created.id }, p.sk()));
    expect(deleted).toEqual({ id: created.id, object: "customer", deleted: true });
    expect(failed(await call(p.cus, "getCustomer", { id: created.id }, p.sk())).code).toBe("resource_missing");
    expect(ok(await call(p.pm, "getPaymentMethod", { id: pm }, p.sk())).payment_method!.customer).toBeUndefined();
    const types = (await p.core.deps.db("events").where({ merchant_id: p.core.merchantId })).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(["customer.created", "customer.updated", "customer.deleted", "payment_method.attached"]));
  });

  it("payment methods: card facts and fingerprints, attach elsewhere refused, detach", async () => {
    const created = ok(
      await call(p.pm, "createPaymentMethod", {
        type: "card",
        card: { number: "4242 4242 4242 4242", exp_month: 12, exp_year: 2040, cvc: "123" },
        billing_details: { name: "John Doe", email: "john@example.com", address: { line1: "123 Main St", city: "San Francisco", state: "CA", postal_code: "94105", country: "US" } },
        metadata: {},
      }, p.sk()),
    ).payment_method!;
    expect(created).toMatchObject({
      object: "payment_method",
      type: "card",
      card: { brand: "visa", last4: "4242", exp_month: 12, exp_year: 2040, funding: "credit", country: "US" },
      billing_details: { name: "John Doe", address: { city: "San Francisco" } },
      livemode: false,
    });
    const again = ok(await call(p.pm, "createPaymentMethod", { type: "card", card: { number: "4242424242424242", exp_month: 1, exp_year: 2041 }, metadata: {} }, p.sk())).payment_method!;
    expect(again.card!.fingerprint).toBe(created.card!.fingerprint);
    const otherMerchant = ok(
      await call(p.pm, "createPaymentMethod", { type: "card", card: { number: "4242424242424242", exp_month: 1, exp_year: 2041 }, metadata: {} }, p.core.metadata(p.core.otherMerchant.secret)),
    ).payment_method!;
    expect(otherMerchant.card!.fingerprint).not.toBe(created.card!.fingerprint);

    const c1 = ok(await call(p.cus, "createCustomer", { metadata: {} }, p.sk())).customer!;
    const c2 = ok(await call(p.cus, "createCustomer", { metadata: {} }, p.sk())).customer!;
    ok(await call(p.pm, "attachPaymentMethod", { id: created.id, customer: c1.id }, p.sk()));
    expect(failed(await call(p.pm, "attachPaymentMethod", { id: created.id, customer: c2.id }, p.sk())).code).toBe("payment_method_unexpected_state");
    const detached = ok(await call(p.pm, "detachPaymentMethod", { id: created.id }, p.sk())).payment_method!;
    expect(detached.customer).toBeUndefined();
    expect(failed(await call(p.pm, "detachPaymentMethod", { id: created.id }, p.sk())).code).toBe("payment_method_unexpected_state");
    expect(failed(await call(p.pm, "createPaymentMethod", { type: "sepa", metadata: {} }, p.sk()))).toMatchObject({ param: "type" });
    expect(failed(await call(p.pm, "createPaymentMethod", { type: "card", metadata: {} }, p.sk()))).toMatchObject({ code: "parameter_missing", param: "card" });
    expect(failed(await call(p.pm, "listPaymentMethods", { customer: "" }, p.sk()))).toMatchObject({ code: "parameter_missing", param: "customer" });
  });
});
