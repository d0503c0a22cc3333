// At-least-once across failures: a receiver down through a core restart
// gets every event afterwards (and not the one it already acknowledged), a
// delivery held by a crashed worker is retried once its lease expires, and
// two core processes on one PostgreSQL database deliver each event once.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { CustomerServiceClient } from "../../gen/payments/v1/customers";
import { WebhookEndpointServiceClient } from "../../gen/payments/v1/webhook_endpoints";
import { createCore, type Core } from "../../server/app";
import { recordEvent } from "../../server/events/outbox";
import { createMerchantWithKeys } from "../../server/merchants/service";
import { encryptSecret, webhookSecretKey } from "../../server/webhooks/secrets";
import { call } from "../support/grpc";
import { createPostgresDatabase, dropPostgresDatabase } from "../support/core";
import { startReceiver, verifyWebhookSignature, waitFor, type Receiver } from "./support";

const WORKER = { config: { testSchedule: Array(20).fill(0.2), pollMs: 100 } };

function clients(core: Core) {
  const address = `127.0.0.1:${core.grpcPort}`;
  return {
    endpoints: new WebhookEndpointServiceClient(address, grpc.credentials.createInsecure()),
    customers: new CustomerServiceClient(address, grpc.credentials.createInsecure()),
  };
}

function auth(key: string) {
  const md = new grpc.Metadata();
  md.set("authorization", `Bearer ${key}`);
  return md;
}

const eventIdsOf = (r: Receiver) => r.received.filter((x) => x.status === 200).map((x) => JSON.parse(x.body).id as string);

describe("restart (SQLite file)", () => {
  const dir = mkdtempSync(join(tmpdir(), "payments-webhooks-"));
  const databaseUrl = `sqlite://${join(dir, "db.sqlite3")}`;
  const open: Array<{ close(): Promise<void> }> = [];
  afterAll(async () => {
    for (const o of open.reverse()) await o.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it("delivers everything after the restart, and never resends an acknowledged event", async () => {
    let core = await createCore({ databaseUrl, grpcPort: 0, grpcHost: "127.0.0.1", webhookWorker: WORKER });
    const { keys } = await createMerchantWithKeys(core.deps.db, { name: "Restart" });
    let receiver = await startReceiver();
    const port = receiver.port;
    let c = clients(core);
    const ep = (await call(c.endpoints, "createWebhookEndpoint", { url: receiver.url, enabled_events: ["*"], metadata: {} }, auth(keys.secret.key))).value!.webhook_endpoint!;

    // One event acknowledged before the trouble starts.
    await call(c.customers, "createCustomer", { email: "acked@example.com", metadata: {} }, auth(keys.secret.key));
    await waitFor(() => eventIdsOf(receiver).length === 1);
    const acked = eventIdsOf(receiver)[0];

    // The receiver goes down; events keep happening and their attempts fail.
    await receiver.close();
    const whileDown: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await call(c.customers, "createCustomer", { email: `down${i}@example.com`, metadata: {} }, auth(keys.secret.key));
      whileDown.push(r.value!.customer!.id);
    }
    await waitFor(async () => {
      const rows = await core.deps.db("webhook_attempts").whereNotNull("error");
      return rows.length >= 5;
    });
    c.endpoints.close();
    c.customers.close();
    await core.close();

    // Receiver back up on the same port, core restarted on the same database.
    receiver = await startReceiver(port);
    open.push(receiver);
    core = await createCore({ databaseUrl, grpcPort: 0, grpcHost: "127.0.0.1", webhookWorker: WORKER });
    open.push(core);
    await waitFor(() => eventIdsOf(receiver).length >= 5, 15_000, "the 5 events made while down");
    const delivered = receiver.received.filter((x) => x.status === 200).map((x) => JSON.parse(x.body));
    expect(new Set(delivered.map((e) => e.data.object.id))).toEqual(new Set(whileDown));
    expect(eventIdsOf(receiver)).not.toContain(acked);
    for (const x of receiver.received) expect(verifyWebhookSignature(x.body, x.headers["payments-signature"] as string, ep.secret!)).toBe(true);
    const pending = await core.deps.db("webhook_deliveries").whereNot({ status: "succeeded" });
    expect(pending).toHaveLength(0);
  });
});

describe("a crashed worker's lease", () => {
  const dir = mkdtempSync(join(tmpdir(), "payments-webhooks-"));
  let core: Core | undefined;
  let receiver: Receiver | undefined;
  afterAll(async () => {
    await core?.close();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is retried once the lease expires, not before", async () => {
    core = await createCore({ databaseUrl: `sqlite://${join(dir, "db.sqlite3")}`, webhookWorker: WORKER });
    const { merchant } = await createMerchantWithKeys(core.deps.db, { name: "Crash" });
    receiver = await startReceiver();
    const { db } = core.deps;
    await db("webhook_endpoints").insert({
      id: "we_crash",
      merchant_id: merchant.id,
      livemode: false,
      url: receiver.url,
      enabled_events: '["*"]',
      secret_enc: encryptSecret(webhookSecretKey(process.env, core.deps.settings.fingerprintSecret), "whsec_crash"),
      created: 1,
    });
    // A worker that died mid-delivery: it holds the lease for another 800 ms.
    const leaseUntil = Date.now() + 800;
    await db.transaction(async (trx) => {
      const id = await recordEvent(trx, { merchantId: merchant.id, livemode: false }, "customer.created", { id: "cus_crash" });
      await trx("webhook_deliveries").where({ event_id: id }).update({ lease_owner: "dead-worker:1", lease_expires_ms: leaseUntil });
    });
    const got = await waitFor(() => receiver!.received[0], 10_000, "redelivery after the lease");
    expect(got.at).toBeGreaterThanOrEqual(leaseUntil);
    expect(verifyWebhookSignature(got.body, got.headers["payments-signature"] as string, "whsec_crash")).toBe(true);
  });
});

describe("two core processes on one PostgreSQL database", () => {
  const name = `payments_test_${randomBytes(6).toString("hex")}`;
  const cores: Core[] = [];
  let receiver: Receiver | undefined;
  afterAll(async () => {
    for (const c of cores) await c.close();
    await receiver?.close();
    await dropPostgresDatabase(name);
  });

  it("delivers each event to each endpoint once", async () => {
    const databaseUrl = await createPostgresDatabase(name);
    cores.push(await createCore({ databaseUrl, grpcPort: 0, grpcHost: "127.0.0.1", webhookWorker: { ...WORKER, owner: "core-a" } }));
    cores.push(await createCore({ databaseUrl, grpcPort: 0, grpcHost: "127.0.0.1", webhookWorker: { ...WORKER, owner: "core-b" } }));
    const { keys } = await createMerchantWithKeys(cores[0].deps.db, { name: "Two cores" });
    receiver = await startReceiver();
    const [a, b] = cores.map(clients);
    const md = auth(keys.secret.key);
    const e1 = (await call(a.endpoints, "createWebhookEndpoint", { url: `${receiver.url}?e=1`, enabled_events: ["*"], metadata: {} }, md)).value!.webhook_endpoint!;
    const e2 = (await call(b.endpoints, "createWebhookEndpoint", { url: `${receiver.url}?e=2`, enabled_events: ["customer.created"], metadata: {} }, md)).value!.webhook_endpoint!;

    const N = 40;
    await Promise.all(Array.from({ length: N }, (_, i) => call((i % 2 ? a : b).customers, "createCustomer", { email: `two${i}@example.com`, metadata: {} }, md)));
    await waitFor(() => receiver!.received.length >= 2 * N, 20_000, `${2 * N} deliveries`);
    // Let any duplicate show up: wait until every delivery is recorded as finished.
    await waitFor(async () => (await cores[0].deps.db("webhook_deliveries").where({ status: "pending" })).length === 0);

    // Which endpoint a request was for: the secret that verifies its signature.
    const seen = new Map<string, number>();
    for (const r of receiver.received) {
      const event = JSON.parse(r.body).id as string;
      const secret = [e1.secret!, e2.secret!].find((s) => verifyWebhookSignature(r.body, r.headers["payments-signature"] as string, s));
      expect(secret).toBeDefined();
      const k = `${secret === e1.secret ? "e1" : "e2"}:${event}`;
      seen.set(k, (seen.get(k) ?? 0) + 1);
    }
    expect(seen.size).toBe(2 * N);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    const attempts = await cores[0].deps.db("webhook_attempts").count({ n: "*" }).first();
    expect(Number(attempts!.n)).toBe(2 * N);
    for (const c of [a, b]) {
      c.endpoints.close();
      c.customers.close();
    }
  });
});
