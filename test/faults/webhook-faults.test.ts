// Webhook receivers at fault, side by side on one merchant: one down
// (connection refused, then back mid-schedule), one slower than the delivery
// timeout, one answering 500, one healthy. Each failing one is retried on the
// (short, test-mode) schedule with every attempt recorded, then marked failed
// or delivered when it recovers; the healthy endpoint gets every event once
// and promptly, whatever the others do. The schedule and timeout are
// shortened through the worker's config (the defaults are checked below).
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webhookConfig } from "../../server/webhooks/config";
import { startTestCore, type TestCore } from "../support/core";
import { createGateway } from "../../gateway/server";
import { GOOD_CARD, request, waitFor } from "../scale/procs";
import { startReceiver, type Receiver } from "../scale/receiver";
import type { AddressInfo } from "node:net";
import type http from "node:http";

const SCHEDULE = [1, 1, 1]; // seconds between attempts: 4 attempts in all
const TIMEOUT_MS = 800;

let core: TestCore;
let gateway: http.Server;
let base: string;
const receivers: Record<"healthy" | "slow" | "failing" | "down", Receiver> = {} as never;
let downPort: number;
const endpoints: Record<string, string> = {};

/** A port nothing listens on (yet). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

beforeAll(async () => {
  core = await startTestCore({
    backend: "sqlite",
    webhookWorker: { config: { testSchedule: SCHEDULE, timeoutMs: TIMEOUT_MS, pollMs: 100 } },
  });
  gateway = createGateway({ dispatcher: core.pipeline });
  await new Promise<void>((r) => gateway.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
  receivers.healthy = await startReceiver({ status: 200 });
  receivers.slow = await startReceiver({ hang: true });
  receivers.failing = await startReceiver({ status: 500 });
  downPort = await freePort();
  for (const [name, url] of Object.entries({
    healthy: receivers.healthy.url,
    slow: receivers.slow.url,
    failing: receivers.failing.url,
    down: `http://127.0.0.1:${downPort}/webhooks`,
  })) {
    const a = await request(base, "POST", "/v1/webhook_endpoints", { key: core.keys.secret, body: { url, enabled_events: ["payment_intent.succeeded"] } });
    expect(a.status, a.text).toBe(200);
    endpoints[name] = a.body.id;
  }
}, 60_000);

afterAll(async () => {
  for (const r of Object.values(receivers)) await r?.close();
  gateway?.closeAllConnections();
  await new Promise((r) => gateway?.close(r));
  await core?.close();
});

const deliveries = (endpoint: string) => core.deps.db("webhook_deliveries").where({ webhook_endpoint_id: endpoint });
async function attempts(endpoint: string) {
  return core.deps.db("webhook_attempts").join("webhook_deliveries", "webhook_deliveries.id", "webhook_attempts.delivery_id").where({ webhook_endpoint_id: endpoint }).select("webhook_attempts.*");
}

describe("webhook receivers at fault", () => {
  it("keeps the documented defaults: 10 s timeout, a test-mode retry schedule", () => {
    const defaults = webhookConfig({});
    expect(defaults.timeoutMs).toBe(10_000);
    expect(defaults.testSchedule.length).toBeGreaterThan(0);
    expect(defaults.liveSchedule.length + 1).toBe(16);
  });

  it("retries the failing ones as scheduled, delivers to the healthy one promptly, and to the down one once it is back", async () => {
    const ids: string[] = [];
    const confirmedAt = new Map<string, number>();
    for (let i = 0; i < 5; i++) {
      const pm = await request(base, "POST", "/v1/payment_methods", { key: core.keys.secret, body: GOOD_CARD });
      const pi = await request(base, "POST", "/v1/payment_intents", { key: core.keys.secret, body: { amount: 700, currency: "usd", payment_method: pm.body.id, confirm: true } });
      expect(pi.body.status, pi.text).toBe("succeeded");
      ids.push(pi.body.id);
      confirmedAt.set(pi.body.id, Date.now());
    }
    // The healthy endpoint is not held up by the hanging, refusing and failing ones.
    await waitFor("healthy deliveries", () => receivers.healthy.received.length >= 5, 10_000, 50);
    // Each event reaches it within about a poll of its commit, not after the others' timeouts.
    const lag = Math.max(...receivers.healthy.received.map((r) => r.at - confirmedAt.get(r.objectId!)!));
    expect(lag).toBeLessThan(TIMEOUT_MS + 1_000);
    // Bring the down receiver up after its first failed attempt.
    await waitFor("a refused attempt", async () => (await attempts(endpoints.down)).length >= 5, 10_000, 50);
    const back = await startReceiver({ status: 200 });
    const relay = net.createServer((c) => {
      const u = net.connect(new URL(back.url).port as unknown as number, "127.0.0.1");
      c.pipe(u).pipe(c);
      c.on("error", () => u.destroy());
      u.on("error", () => c.destroy());
    });
    await new Promise<void>((r) => relay.listen(downPort, "127.0.0.1", r));
    receivers.down = back;
    try {
      const settled = async (endpoint: string) => (await deliveries(endpoint)).every((d) => d.status !== "pending");
      await waitFor("every delivery to settle", async () => (await settled(endpoints.slow)) && (await settled(endpoints.failing)) && (await settled(endpoints.down)), 40_000, 200);

      for (const name of ["slow", "failing"]) {
        const ds = await deliveries(endpoints[name]);
        expect(ds, name).toHaveLength(5);
        for (const d of ds) {
          expect(d.status, name).toBe("failed");
          expect(d.attempt_count, name).toBe(SCHEDULE.length + 1);
        }
        const as = await attempts(endpoints[name]);
        expect(as, name).toHaveLength(5 * (SCHEDULE.length + 1));
        if (name === "failing") for (const a of as) expect(a.response_status).toBe(500);
        if (name === "slow") for (const a of as) expect(a.response_status ?? null).toBeNull();
      }
      // The slow receiver saw every attempt arrive: it was retried, not skipped.
      expect(receivers.slow.attempts).toBe(5 * (SCHEDULE.length + 1));
      expect(receivers.failing.attempts).toBe(5 * (SCHEDULE.length + 1));

      // The down receiver got every event once it came back, each once.
      const down = await deliveries(endpoints.down);
      for (const d of down) expect(d.status).toBe("succeeded");
      const got = back.received.map((r) => r.eventId);
      expect(new Set(got).size).toBe(got.length);
      expect(got.length).toBe(5);

      // And the healthy endpoint got each event exactly once.
      const healthy = receivers.healthy.received.map((r) => r.eventId);
      expect(healthy).toHaveLength(5);
      expect(new Set(healthy).size).toBe(5);
    } finally {
      await new Promise((r) => relay.close(r));
    }
  }, 90_000);
});
