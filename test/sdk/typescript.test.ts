// The TypeScript SDK against the live service (core + REST gateway): the
// resource API, the publishable-key browser flow, a typed error for every
// error type, automatic retries with one idempotency key (through a real
// fault-injecting proxy), pagination, and webhook verification on a real
// delivery.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createGateway } from "../../gateway/server";
import { createGrpcDispatcher } from "../../gateway/grpc-dispatcher";
import { createRateLimiting } from "../../server/ratelimit/limiter";
import {
  APIConnectionError,
  APIError,
  AuthenticationError,
  CardError,
  IdempotencyError,
  InvalidRequestError,
  PaymentsError,
  PaymentsSDK,
  RateLimitError,
  SignatureVerificationError,
  webhooks,
  type Event,
} from "../../sdk/typescript/index";
import { fileLogger, smallLimits } from "../ops/helpers";
import { startFaultProxy, type FaultProxy } from "./proxy";
import { closeServer, listen, startLiveService, type LiveService } from "./support";

const CARD = { number: "4242424242424242", exp_month: 12, exp_year: 2034, cvc: "123" };

let service: LiveService;
let sk: PaymentsSDK;

beforeAll(async () => {
  service = await startLiveService();
  sk = new PaymentsSDK(service.core.keys.secret, { apiBase: service.base });
});
afterAll(async () => {
  await service?.close();
});

/** Expects `promise` to reject with an instance of `Class`; returns the error. */
async function rejection<T extends PaymentsError>(promise: Promise<unknown>, Class: new (...a: any[]) => T): Promise<T> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Class);
  return err as T;
}

describe("resource API (secret key)", () => {
  it("creates, updates, confirms, captures and refunds, and reads charges and events", async () => {
    const customer = await sk.customers.create({ email: "ada@example.com", name: "Ada" });
    expect(customer).toMatchObject({ object: "customer", email: "ada@example.com" });
    const pm = await sk.paymentMethods.create({ type: "card", card: CARD });
    const attached = await sk.paymentMethods.attach(pm.id, { customer: customer.id });
    expect(attached.customer).toBe(customer.id);

    const pi = await sk.paymentIntents.create({ amount: 5000, currency: "usd", capture_method: "manual", customer_id: customer.id });
    expect(pi.status).toBe("requires_payment_method");
    const updated = await sk.paymentIntents.update(pi.id, { description: "Order 7", metadata: { order_id: "7" } });
    expect(updated).toMatchObject({ description: "Order 7", metadata: { order_id: "7" } });
    const confirmed = await sk.paymentIntents.confirm(pi.id, { payment_method: pm.id });
    expect(confirmed).toMatchObject({ status: "requires_capture", amount_capturable: 5000 });
    const captured = await sk.paymentIntents.capture(pi.id, { amount_to_capture: 3000 });
    expect(captured).toMatchObject({ status: "succeeded", amount_received: 3000 });

    const charge = await sk.charges.retrieve(captured.latest_charge!);
    expect(charge).toMatchObject({ object: "charge", amount_captured: 3000, payment_intent: pi.id });
    const refund = await sk.refunds.create({ charge: charge.id, amount: 1000, reason: "requested_by_customer" });
    expect(refund).toMatchObject({ object: "refund", amount: 1000, status: "succeeded" });
    expect((await sk.refunds.retrieve(refund.id)).id).toBe(refund.id);
    expect((await sk.refunds.list({ charge: charge.id })).data.map((r) => r.id)).toEqual([refund.id]);

    const events = await sk.events.list({ limit: 100 });
    expect(events.object).toBe("list");
    expect(events.data.map((e) => e.type)).toContain("payment_intent.succeeded");
    const event = await sk.events.retrieve(events.data[0].id);
    expect(event.object).toBe("event");

    const canceled = await sk.paymentIntents.cancel((await sk.paymentIntents.create({ amount: 100, currency: "usd" })).id, {
      cancellation_reason: "abandoned",
    });
    expect(canceled).toMatchObject({ status: "canceled", cancellation_reason: "abandoned" });
    const detached = await sk.paymentMethods.detach(pm.id);
    expect(detached.customer).toBeUndefined();
    expect(await sk.customers.del(customer.id)).toEqual({ id: customer.id, object: "customer", deleted: true });
  });

  it("manages webhook endpoints", async () => {
    const we = await sk.webhookEndpoints.create({ url: "http://127.0.0.1:9/hooks", enabled_events: ["*"] });
    expect(we.secret).toMatch(/^whsec_/);
    expect((await sk.webhookEndpoints.retrieve(we.id)).secret).toBeUndefined();
    const rolled = await sk.webhookEndpoints.rollSecret(we.id, { expires_in_seconds: 0 });
    expect(rolled.secret).toMatch(/^whsec_/);
    expect(rolled.secret).not.toBe(we.secret);
    expect((await sk.webhookEndpoints.update(we.id, { disabled: true })).disabled).toBe(true);
    expect((await sk.webhookEndpoints.list()).data.map((w) => w.id)).toContain(we.id);
    expect(await sk.webhookEndpoints.del(we.id)).toMatchObject({ id: we.id, deleted: true });
  });
});

describe("browser flow (publishable key)", () => {
  it("creates a payment method, then confirms and authenticates by client secret; the server creates the intent", async () => {
    const pk = new PaymentsSDK(service.core.keys.publishable, { apiBase: service.base });
    const pm = await pk.createPaymentMethod({ type: "card", card: { ...CARD, number: "4000002500003155" } });
    const pi = await sk.paymentIntents.create({ amount: 2000, currency: "usd" });
    const { paymentIntent } = await pk.confirmPaymentIntent(pi.client_secret, { payment_method: pm.id });
    expect(paymentIntent.status).toBe("requires_action");
    const result = await pk.handleCardAction(paymentIntent.client_secret);
    expect(result.paymentIntent.status).toBe("succeeded");
    expect((await pk.retrievePaymentIntent(pi.client_secret)).status).toBe("succeeded");
  });

  it("fails 3-D Secure when the customer fails it", async () => {
    const pk = new PaymentsSDK(service.core.keys.publishable, { apiBase: service.base });
    const pm = await pk.createPaymentMethod({ type: "card", card: { ...CARD, number: "4000002500003155" } });
    const pi = await sk.paymentIntents.create({ amount: 2000, currency: "usd", payment_method: pm.id, confirm: true });
    expect(pi.status).toBe("requires_action");
    const result = await pk.handleCardAction(pi.client_secret, { outcome: "fail" });
    expect(result.paymentIntent.status).toBe("requires_payment_method");
    expect(result.paymentIntent.last_payment_error?.type).toBe("card_error");
  });

  it("may not create payment intents (secret keys only: 403)", async () => {
    const pk = new PaymentsSDK(service.core.keys.publishable, { apiBase: service.base });
    const err = await rejection(pk.createPaymentIntent({ amount: 2000, currency: "usd" }), AuthenticationError);
    expect(err.statusCode).toBe(403);
  });
});

describe("typed errors", () => {
  it("CardError: a declined card, with code, decline_code and request id", async () => {
    const pm = await sk.paymentMethods.create({ type: "card", card: { ...CARD, number: "4000000000009995" } });
    const err = await rejection(sk.paymentIntents.create({ amount: 2000, currency: "usd", payment_method: pm.id, confirm: true }), CardError);
    expect(err).toMatchObject({ type: "card_error", code: "card_declined", decline_code: "insufficient_funds", statusCode: 402 });
    expect(err.request_id).toMatch(/^req_/);
    expect(err.message).toMatch(/insufficient funds|declined/i);
  });

  it("InvalidRequestError: a missing parameter names its param; an unknown id is resource_missing", async () => {
    const missing = await rejection(sk.paymentIntents.create({ currency: "usd" } as never), InvalidRequestError);
    expect(missing).toMatchObject({ code: "parameter_missing", param: "amount", statusCode: 400 });
    const unknown = await rejection(sk.paymentIntents.retrieve("pi_doesnotexist"), InvalidRequestError);
    expect(unknown).toMatchObject({ code: "resource_missing", statusCode: 404 });
  });

  it("AuthenticationError: an invalid key", async () => {
    const bad = new PaymentsSDK("sk_test_not_a_real_key", { apiBase: service.base });
    const err = await rejection(bad.customers.list(), AuthenticationError);
    expect(err).toMatchObject({ type: "authentication_error", code: "invalid_api_key", statusCode: 401 });
  });

  it("IdempotencyError: one key reused with other parameters", async () => {
    const key = `order-${Date.now()}`;
    await sk.customers.create({ email: "a@example.com" }, { idempotencyKey: key });
    const err = await rejection(sk.customers.create({ email: "b@example.com" }, { idempotencyKey: key }), IdempotencyError);
    expect(err).toMatchObject({ type: "idempotency_error", statusCode: 400 });
  });

  it("RateLimitError: over the per-key budget", async () => {
    const log = fileLogger();
    const limiting = await createRateLimiting(log.logger, smallLimits({ limits: { default: 3, payment_creation: 2 } }));
    const limited = await startLiveService({ rateLimiter: limiting.limiter });
    try {
      const client = new PaymentsSDK(limited.core.keys.secret, { apiBase: limited.base, maxRetries: 0 });
      await client.paymentIntents.list();
      await client.paymentIntents.list();
      const err = await rejection(client.paymentIntents.list(), RateLimitError);
      expect(err).toMatchObject({ type: "rate_limit_error", statusCode: 429 });
      expect(err.headers["retry-after"]).toMatch(/^\d+$/);
    } finally {
      await limited.close();
      await limiting.close?.();
    }
  });

  it("APIError: the gateway cannot reach its core (503 after the retries)", async () => {
    const dispatcher = createGrpcDispatcher("127.0.0.1:1");
    const gateway = createGateway({ dispatcher });
    const base = await listen(gateway);
    try {
      const client = new PaymentsSDK(service.core.keys.secret, { apiBase: base, maxRetries: 1, initialRetryDelayMs: 5 });
      const err = await rejection(client.customers.list(), APIError);
      expect(err).toMatchObject({ type: "api_error", statusCode: 503 });
    } finally {
      await closeServer(gateway);
      dispatcher.close?.();
    }
  });

  it("APIConnectionError: nothing listens (after the retries)", async () => {
    const server = http.createServer();
    const base = await listen(server);
    await closeServer(server);
    const client = new PaymentsSDK(service.core.keys.secret, { apiBase: base, maxRetries: 1, initialRetryDelayMs: 5 });
    const err = await rejection(client.customers.list(), APIConnectionError);
    expect(err.statusCode).toBe(0);
  });

  it("APIConnectionError: a timeout", async () => {
    const server = http.createServer(() => {}); // never answers
    const base = await listen(server);
    try {
      const client = new PaymentsSDK(service.core.keys.secret, { apiBase: base, maxRetries: 0, timeoutMs: 200 });
      const err = await rejection(client.customers.list(), APIConnectionError);
      expect(err.message).toMatch(/timed out after 200 ms/);
    } finally {
      await closeServer(server);
    }
  });
});

describe("automatic retries", () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy(service.base);
  });
  afterAll(async () => {
    await proxy?.close();
  });

  async function countIntents(description: string): Promise<number> {
    let n = 0;
    for await (const pi of sk.paymentIntents.list({ limit: 100 })) if (pi.description === description) n++;
    return n;
  }

  it("retries an injected 503 with the same Idempotency-Key and creates one object", async () => {
    const client = new PaymentsSDK(service.core.keys.secret, { apiBase: proxy.base, initialRetryDelayMs: 5 });
    proxy.inject("POST", "/v1/payment_intents", { kind: "503-before" });
    const before = proxy.seen.length;
    const pi = await client.paymentIntents.create({ amount: 1234, currency: "usd", description: "retry-503-before" });
    const attempts = proxy.seen.slice(before);
    expect(attempts.map((a) => a.fault)).toEqual(["503-before", undefined]);
    const keys = attempts.map((a) => a.headers["idempotency-key"]);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(pi.status).toBe("requires_payment_method");
    expect(await countIntents("retry-503-before")).toBe(1);
  });

  it("a lost response (503 after the work was done) is replayed, not done twice", async () => {
    const client = new PaymentsSDK(service.core.keys.secret, { apiBase: proxy.base, initialRetryDelayMs: 5 });
    proxy.inject("POST", "/v1/payment_intents", { kind: "503-after" });
    const before = proxy.seen.length;
    const pi = await client.paymentIntents.create({ amount: 1234, currency: "usd", description: "retry-503-after" });
    const attempts = proxy.seen.slice(before);
    expect(attempts).toHaveLength(2);
    expect(attempts[1].headers["idempotency-key"]).toBe(attempts[0].headers["idempotency-key"]);
    expect(await countIntents("retry-503-after")).toBe(1);
    expect((await sk.paymentIntents.retrieve(pi.id)).description).toBe("retry-503-after");
  });

  it("retries a dropped connection", async () => {
    const client = new PaymentsSDK(service.core.keys.secret, { apiBase: proxy.base, initialRetryDelayMs: 5 });
    proxy.inject("POST", "/v1/customers", { kind: "drop" });
    const before = proxy.seen.length;
    const customer = await client.customers.create({ email: "dropped@example.com" });
    expect(customer.email).toBe("dropped@example.com");
    expect(proxy.seen.slice(before).map((a) => a.fault)).toEqual(["drop", undefined]);
  });

  it("honours Retry-After", async () => {
    const client = new PaymentsSDK(service.core.keys.secret, { apiBase: proxy.base, initialRetryDelayMs: 5 });
    proxy.inject("GET", "/v1/customers", { kind: "503-before", retryAfter: "1" });
    const before = proxy.seen.length;
    await client.customers.list();
    const [first, second] = proxy.seen.slice(before);
    expect(second.at - first.at).toBeGreaterThanOrEqual(950);
  });

  it("gives up after maxRetries with the last error", async () => {
    const client = new PaymentsSDK(service.core.keys.secret, { apiBase: proxy.base, initialRetryDelayMs: 5, maxRetries: 2 });
    proxy.inject("GET", "/v1/charges", { kind: "503-before" }, { kind: "503-before" }, { kind: "503-before" });
    const before = proxy.seen.length;
    const err = await rejection(client.charges.list(), APIError);
    expect(err).toMatchObject({ statusCode: 503, request_id: "req_proxy_injected" });
    expect(proxy.seen.length - before).toBe(3);
  });
});

describe("pagination", () => {
  it("iterates every page with for await, newest first", async () => {
    const email = `page-${Date.now()}@example.com`;
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push((await sk.customers.create({ email, name: `c${i}` })).id);
    const first = await sk.customers.list({ email, limit: 3 });
    expect(first).toMatchObject({ object: "list", has_more: true, url: "/v1/customers" });
    expect(first.data).toHaveLength(3);
    const seen: string[] = [];
    for await (const c of sk.customers.list({ email, limit: 3 })) seen.push(c.id);
    expect(seen).toEqual([...created].reverse());
    // Walking back from the oldest with ending_before yields the newer ones, nearest first.
    const back: string[] = [];
    for await (const c of sk.customers.list({ email, limit: 2, ending_before: created[0] })) back.push(c.id);
    expect(back).toEqual(created.slice(1));
  });
});

describe("event stream", () => {
  it("replays after a cursor, then delivers live events in commit order until aborted", async () => {
    const before = await sk.customers.create({ email: "stream-0@example.com" });
    const cursor = (await sk.events.list({ limit: 1, type: "customer.created" })).data[0];
    expect(cursor.data?.object).toMatchObject({ id: before.id });
    const controller = new AbortController();
    const seen: Event[] = [];
    const reading = (async () => {
      for await (const event of sk.events.stream({ types: ["customer.created"], starting_after: cursor.id }, { signal: controller.signal })) {
        seen.push(event);
        if (seen.length === 3) controller.abort();
      }
    })();
    const created: string[] = [];
    for (let i = 1; i <= 3; i++) created.push((await sk.customers.create({ email: `stream-${i}@example.com` })).id);
    await reading;
    expect(seen.map((e) => e.type)).toEqual(["customer.created", "customer.created", "customer.created"]);
    expect(seen.map((e) => (e.data?.object as { id: string }).id)).toEqual(created);
  });

  it("fails with a typed error before the stream starts", async () => {
    const bad = new PaymentsSDK("sk_test_wrong", { apiBase: service.base });
    const err = await (async () => {
      for await (const _ of bad.events.stream()) return undefined;
    })().catch((e) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
  });
});

describe("webhooks.constructEvent", () => {
  let receiver: http.Server;
  const deliveries: Array<{ body: string; signature: string }> = [];
  let endpointSecret: string;

  beforeAll(async () => {
    receiver = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      deliveries.push({ body: Buffer.concat(chunks).toString("utf8"), signature: String(req.headers["payments-signature"]) });
      res.writeHead(200).end("ok");
    });
    const url = await listen(receiver);
    const endpoint = await sk.webhookEndpoints.create({ url: `${url}/hooks`, enabled_events: ["customer.created"] });
    endpointSecret = endpoint.secret!;
    await sk.customers.create({ email: "hook@example.com" });
    await vi.waitFor(() => expect(deliveries.length).toBeGreaterThan(0), { timeout: 15_000, interval: 50 });
  });
  afterAll(async () => {
    await closeServer(receiver);
  });

  it("verifies a real delivery and returns the typed event", () => {
    const { body, signature } = deliveries[0];
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}/);
    const event: Event = webhooks.constructEvent(body, signature, endpointSecret);
    expect(event).toMatchObject({ object: "event", type: "customer.created" });
    expect(event.data?.object).toMatchObject({ object: "customer", email: "hook@example.com" });
    expect(PaymentsSDK.webhooks.constructEvent(Buffer.from(body), signature, endpointSecret).id).toBe(event.id);
  });

  it("rejects a tampered body, a wrong secret and a missing header", () => {
    const { body, signature } = deliveries[0];
    const tampered = body.replace("hook@example.com", "evil@example.com");
    expect(() => webhooks.constructEvent(tampered, signature, endpointSecret)).toThrow(SignatureVerificationError);
    expect(() => webhooks.constructEvent(body, signature, "whsec_wrong")).toThrow(/No signature matches/);
    expect(() => webhooks.constructEvent(body, undefined, endpointSecret)).toThrow(SignatureVerificationError);
    expect(() => webhooks.constructEvent(body, "garbage", endpointSecret)).toThrow(SignatureVerificationError);
  });

  it("rejects a stale delivery (older than the tolerance)", () => {
    const { body, signature } = deliveries[0];
    vi.useFakeTimers({ now: Date.now() + 301_000, toFake: ["Date"] });
    try {
      expect(() => webhooks.constructEvent(body, signature, endpointSecret)).toThrow(/tolerance/);
      // A wider tolerance accepts it.
      expect(webhooks.constructEvent(body, signature, endpointSecret, 600).type).toBe("customer.created");
      // No tolerance turns the replay check off: 0 (stripe-node's "disable") or less is refused outright.
      for (const tolerance of [0, -1, Number.NaN]) {
        expect(() => webhooks.constructEvent(body, signature, endpointSecret, tolerance)).toThrow(RangeError);
        expect(() => webhooks.constructEvent(body, signature, endpointSecret, tolerance)).toThrow(/tolerance must be a positive number/);
      }
    } finally {
      vi.useRealTimers();
    }
  });
});
