// Signed deliveries to a real receiver: the spec's verification accepts
// them, a tampered body or a stale timestamp fails, a failing receiver gets
// the event on the attempt after its failures (with the backoff recorded),
// and an acknowledged delivery is not sent again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CustomerServiceClient } from "../../gen/payments/v1/customers";
import { WebhookEndpointServiceClient, type WebhookEndpoint } from "../../gen/payments/v1/webhook_endpoints";
import { call } from "../support/grpc";
import { BACKENDS, startTestCore, type TestCore } from "../support/core";
import { startReceiver, verifyWebhookSignature, waitFor, type Receiver } from "./support";

// Test mode retries after 0.3 s, 0.6 s, 1.2 s (±20 % jitter), then fails.
const SCHEDULE = [0.3, 0.6, 1.2];
/** A receiver has this long to answer (10 s in production). */
const TIMEOUT_MS = 1000;

describe.each(BACKENDS)("webhook delivery (%s)", (backend) => {
  let core: TestCore;
  let endpoints: WebhookEndpointServiceClient;
  let customers: CustomerServiceClient;
  let receiver: Receiver;
  let endpoint: WebhookEndpoint;

  beforeAll(async () => {
    core = await startTestCore({ backend, webhookWorker: { config: { testSchedule: SCHEDULE, pollMs: 200, timeoutMs: TIMEOUT_MS } } });
    endpoints = core.client(WebhookEndpointServiceClient);
    customers = core.client(CustomerServiceClient);
    receiver = await startReceiver();
    const created = await call(endpoints, "createWebhookEndpoint", { url: receiver.url, enabled_events: ["customer.created", "customer.updated"], metadata: {} }, core.metadata(core.keys.secret));
    expect(created.error).toBeUndefined();
    endpoint = created.value!.webhook_endpoint!;
  });
  afterAll(async () => {
    await core?.close();
    await receiver?.close();
  });

  it("creates the endpoint with a whsec_ secret shown only once", async () => {
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9]{32}$/);
    expect(endpoint.id).toMatch(/^we_/);
    const got = await call(endpoints, "getWebhookEndpoint", { id: endpoint.id }, core.metadata(core.keys.secret));
    expect(got.value!.webhook_endpoint!.secret).toBeUndefined();
    expect(got.value!.webhook_endpoint!.url).toBe(receiver.url);
    // At rest the secret is encrypted, not stored as given.
    const row = await core.deps.db("webhook_endpoints").where({ id: endpoint.id }).first();
    expect(row.secret_enc).not.toContain(endpoint.secret);
  });

  it("delivers the spec's payload, signed so verify_webhook_signature accepts it", async () => {
    receiver.respond = () => 200;
    const before = receiver.received.length;
    const res = await call(customers, "createCustomer", { email: "a@example.com", metadata: {} }, core.metadata(core.keys.secret, { "idempotency-key": "order_12345" }));
    expect(res.error).toBeUndefined();
    const delivery = await waitFor(() => receiver.received.slice(before).find((r) => JSON.parse(r.body).data.object.id === res.value!.customer!.id), 10_000, "delivery");
    expect(delivery.headers["content-type"]).toBe("application/json");
    const signature = delivery.headers["payments-signature"] as string;
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(delivery.body, signature, endpoint.secret!)).toBe(true);

    const event = JSON.parse(delivery.body);
    expect(Object.keys(event).sort()).toEqual(["created", "data", "id", "livemode", "object", "pending_webhooks", "request", "type"]);
    expect(event).toMatchObject({
      object: "event",
      type: "customer.created",
      livemode: false,
      pending_webhooks: 1,
      request: { id: res.headers["request-id"], idempotency_key: "order_12345" },
      data: { object: { id: res.value!.customer!.id, object: "customer", email: "a@example.com" } },
    });
    expect(event.id).toMatch(/^evt_/);

    // The delivery is recorded as succeeded; the event no longer counts it as pending.
    const deliveries = await waitFor(async () => {
      const list = await call(endpoints, "listWebhookDeliveries", { webhook_endpoint: "", event: event.id }, core.metadata(core.keys.secret));
      return list.value!.data[0]?.status === "succeeded" ? list.value!.data : undefined;
    });
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0].attempts).toHaveLength(1);
    expect(deliveries[0].attempts[0].response_status).toBe(200);
    const stored = await core.deps.db("events").where({ id: event.id }).first();
    expect(Number(stored.pending_webhooks)).toBe(0);
  });

  it("fails verification for a tampered body, a stale timestamp, or another secret", async () => {
    const delivery = receiver.received.find((r) => r.status === 200)!;
    const signature = delivery.headers["payments-signature"] as string;
    const t = Number(/t=(\d+)/.exec(signature)![1]);
    expect(verifyWebhookSignature(delivery.body, signature, endpoint.secret!, t + 300)).toBe(true);
    expect(verifyWebhookSignature(delivery.body.replace('"customer.created"', '"customer.deleted"'), signature, endpoint.secret!)).toBe(false);
    expect(verifyWebhookSignature(delivery.body + " ", signature, endpoint.secret!)).toBe(false);
    expect(verifyWebhookSignature(delivery.body, signature, endpoint.secret!, t + 301)).toBe(false);
    expect(verifyWebhookSignature(delivery.body, signature, endpoint.secret!, t - 301)).toBe(false);
    expect(verifyWebhookSignature(delivery.body, signature, "whsec_someoneelse")).toBe(false);
    expect(verifyWebhookSignature(delivery.body, signature.replace(/^t=\d+/, `t=${t - 1}`), endpoint.secret!)).toBe(false);
  });

  it("retries a failing receiver with backoff: attempt N+1 succeeds after N failures", async () => {
    const failures = 2;
    let calls = 0;
    receiver.respond = () => (++calls <= failures ? 500 : 200);
    const before = receiver.received.length;
    const res = await call(customers, "createCustomer", { email: "retry@example.com", metadata: {} }, core.metadata(core.keys.secret));
    const customerId = res.value!.customer!.id;
    const mine = () => receiver.received.slice(before).filter((r) => JSON.parse(r.body).data.object.id === customerId);
    await waitFor(() => mine().some((r) => r.status === 200), 15_000, "successful retry");
    const got = mine();
    expect(got.map((r) => r.status)).toEqual([500, 500, 200]);
    // Each retry waited at least the schedule's delay minus its jitter.
    expect(got[1].at - got[0].at).toBeGreaterThanOrEqual(SCHEDULE[0] * 1000 * 0.8 - 50);
    expect(got[2].at - got[1].at).toBeGreaterThanOrEqual(SCHEDULE[1] * 1000 * 0.8 - 50);
    // Every delivery carried the same event, each verifiable.
    expect(new Set(got.map((r) => JSON.parse(r.body).id)).size).toBe(1);
    for (const r of got) expect(verifyWebhookSignature(r.body, r.headers["payments-signature"] as string, endpoint.secret!)).toBe(true);

    const eventId = JSON.parse(got[0].body).id;
    const list = await waitFor(async () => {
      const l = await call(endpoints, "listWebhookDeliveries", { webhook_endpoint: "", event: eventId }, core.metadata(core.keys.secret));
      return l.value!.data[0]?.status === "succeeded" ? l.value! : undefined;
    });
    const d = list.data[0];
    expect(d.attempt_count).toBe(3);
    expect(d.attempts.map((a) => a.response_status)).toEqual([500, 500, 200]);
    expect(d.attempts[0].response_snippet).toBe("failing with 500");
    expect(d.next_attempt_at).toBeUndefined();

    // Acknowledged: nothing more arrives for it, even after the longest retry delay.
    const count = mine().length;
    const byEndpoint = await call(endpoints, "listWebhookDeliveries", { webhook_endpoint: endpoint.id, event: "" }, core.metadata(core.keys.secret));
    expect(byEndpoint.value!.data.some((x) => x.id === d.id)).toBe(true);
    const row = await core.deps.db("webhook_deliveries").where({ id: d.id }).first();
    expect(row.status).toBe("succeeded");
    expect(row.next_attempt_ms).toBeNull();
    expect(mine().length).toBe(count);
  });

  it("marks a delivery failed once the schedule is exhausted, and resend sends it again", async () => {
    receiver.respond = () => 503;
    const res = await call(customers, "createCustomer", { email: "down@example.com", metadata: {} }, core.metadata(core.keys.secret));
    const customerId = res.value!.customer!.id;
    const event = await core.deps.db("events").where({ type: "customer.created" }).whereLike("data", `%${customerId}%`).first();
    const failed = await waitFor(async () => {
      const l = await call(endpoints, "listWebhookDeliveries", { webhook_endpoint: "", event: event.id, status: "failed" }, core.metadata(core.keys.secret));
      return l.value!.data[0];
    }, 15_000, "failed delivery");
    expect(failed.attempt_count).toBe(SCHEDULE.length + 1);
    expect(failed.attempts.every((a) => a.response_status === 503)).toBe(true);
    const pendingCount = await core.deps.db("events").where({ id: event.id }).first();
    expect(Number(pendingCount.pending_webhooks)).toBe(1);

    receiver.respond = () => 200;
    const resent = await call(endpoints, "resendWebhookDelivery", { id: failed.id }, core.metadata(core.keys.secret));
    expect(resent.error).toBeUndefined();
    expect(resent.value!.webhook_delivery!.status).toBe("succeeded");
    expect(resent.value!.webhook_delivery!.attempts.at(-1)!.response_status).toBe(200);
    const after = await core.deps.db("events").where({ id: event.id }).first();
    expect(Number(after.pending_webhooks)).toBe(0);
  });

  it("counts a receiver slower than the timeout as a failed attempt", async () => {
    let release: (() => void) | undefined;
    const released = new Promise<void>((r) => (release = r));
    let calls = 0;
    receiver.respond = async () => {
      if (++calls === 1) await released; // answers only after the worker gave up
      return 200;
    };
    const res = await call(customers, "createCustomer", { email: "slow@example.com", metadata: {} }, core.metadata(core.keys.secret));
    const customerId = res.value!.customer!.id;
    const event = await core.deps.db("events").where({ type: "customer.created" }).whereLike("data", `%${customerId}%`).first();
    const d = await waitFor(async () => {
      const l = await call(endpoints, "listWebhookDeliveries", { webhook_endpoint: "", event: event.id }, core.metadata(core.keys.secret));
      return l.value!.data[0]?.status === "succeeded" ? l.value!.data[0] : undefined;
    }, 15_000, "delivery after a timeout");
    release!();
    expect(d.attempts[0].error).toBe("timeout");
    expect(d.attempts[0].latency_ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(d.attempts[1].response_status).toBe(200);
  });

  it("keeps delivering to other endpoints while one endpoint hangs", async () => {
    const slow = await startReceiver();
    let releaseSlow: (() => void) | undefined;
    const slowGate = new Promise<void>((r) => (releaseSlow = r));
    slow.respond = async () => {
      await slowGate;
      return 200;
    };
    receiver.respond = () => 200;
    const slowEp = (await call(endpoints, "createWebhookEndpoint", { url: slow.url, enabled_events: ["customer.created"], metadata: {} }, core.metadata(core.keys.secret))).value!.webhook_endpoint!;
    const before = receiver.received.length;
    const made = await Promise.all(Array.from({ length: 40 }, (_, i) => call(customers, "createCustomer", { email: `busy${i}@example.com`, metadata: {} }, core.metadata(core.keys.secret))));
    const ids = new Set(made.map((m) => m.value!.customer!.id));
    // The fast endpoint gets all 40 while the slow one has answered none.
    await waitFor(() => receiver.received.slice(before).filter((r) => ids.has(JSON.parse(r.body).data.object.id)).length === 40, 10_000, "40 fast deliveries");
    expect(slow.received).toHaveLength(0);
    releaseSlow!();
    await call(endpoints, "deleteWebhookEndpoint", { id: slowEp.id }, core.metadata(core.keys.secret));
    await slow.close();
  });

  it("records a refused connection as an attempt error", async () => {
    const down = await startReceiver();
    const url = down.url;
    await down.close();
    const created = await call(endpoints, "createWebhookEndpoint", { url, enabled_events: ["customer.updated"], metadata: {} }, core.metadata(core.keys.secret));
    const other = created.value!.webhook_endpoint!;
    const cus = await call(customers, "createCustomer", { metadata: {} }, core.metadata(core.keys.secret));
    await call(customers, "updateCustomer", { id: cus.value!.customer!.id, name: "N", metadata: {} }, core.metadata(core.keys.secret));
    const d = await waitFor(async () => {
      const l = await call(endpoints, "listWebhookDeliveries", { webhook_endpoint: other.id, event: "" }, core.metadata(core.keys.secret));
      return l.value!.data[0]?.attempts.length ? l.value!.data[0] : undefined;
    });
    expect(d.attempts[0].error).toBe("connection_refused");
    expect(d.attempts[0].response_status).toBeUndefined();
    await call(endpoints, "deleteWebhookEndpoint", { id: other.id }, core.metadata(core.keys.secret));
  });
});
