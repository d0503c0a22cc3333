// The outbox's batch write: a transaction's events cost one endpoint lookup
// together, and an endpoint committed by any process before a transaction
// gets that transaction's events.
import type { Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebhookEndpointServiceClient } from "../../gen/payments/v1/webhook_endpoints";
import { recordEvents, type EventScope } from "../../server/events/outbox";
import { call } from "../support/grpc";
import { BACKENDS, startTestCore, type TestCore } from "../support/core";
import { startReceiver, waitFor, type Receiver } from "../webhooks/support";

/** Runs `fn` and counts the SQL statements that read webhook_endpoints meanwhile. */
async function endpointQueries(db: Knex, fn: () => Promise<unknown>): Promise<number> {
  let n = 0;
  const listener = (q: { sql: string }) => {
    if (/from "webhook_endpoints"/i.test(q.sql) || /from `webhook_endpoints`/i.test(q.sql)) n++;
  };
  db.on("query", listener);
  try {
    await fn();
  } finally {
    db.removeListener("query", listener);
  }
  return n;
}

describe.each(BACKENDS)("outbox (%s)", (backend) => {
  let core: TestCore;
  let receiver: Receiver;
  let scope: EventScope;
  const flow = (types: string[]) =>
    core.deps.db.transaction((trx) =>
      recordEvents(
        trx,
        scope,
        types.map((type, i) => ({ type, object: { id: `obj_${i}`, object: "test" } })),
      ),
    );

  beforeAll(async () => {
    core = await startTestCore({ backend, webhookWorker: false });
    receiver = await startReceiver();
    scope = { merchantId: core.merchantId, livemode: false, requestId: "req_outbox" };
  });
  afterAll(async () => {
    await core?.close();
    await receiver?.close();
  });

  it("writes a transaction's events in order with one endpoint lookup", async () => {
    const { db } = core.deps;
    const types = ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded"];
    let ids: string[] = [];
    expect(await endpointQueries(db, async () => (ids = await flow(types)))).toBe(1);
    const rows = (await db("events").whereIn("id", ids).orderBy("seq", "asc")) as Array<{ id: string; type: string; request_id: string }>;
    expect(rows.map((r) => r.id)).toEqual(ids);
    expect(rows.map((r) => r.type)).toEqual(types);
    expect(rows.every((r) => r.request_id === "req_outbox")).toBe(true);
  });

  it("an endpoint created through the API gets the very next event; one per matching endpoint and type", async () => {
    const { db } = core.deps;
    await flow(["customer.created"]); // the merchant has no endpoint yet
    const endpoints = core.client(WebhookEndpointServiceClient);
    const md = core.metadata(core.keys.secret);
    const all = (await call(endpoints, "createWebhookEndpoint", { url: receiver.url, enabled_events: ["*"], metadata: {} }, md)).value!.webhook_endpoint!;
    const charges = (await call(endpoints, "createWebhookEndpoint", { url: receiver.url, enabled_events: ["charge.succeeded"], metadata: {} }, md)).value!.webhook_endpoint!;
    let ids: string[] = [];
    expect(await endpointQueries(db, async () => (ids = await flow(["payment_intent.created", "charge.succeeded"])))).toBe(1);
    const deliveries = (await db("webhook_deliveries").whereIn("event_id", ids)) as Array<{ event_id: string; webhook_endpoint_id: string }>;
    const pairs = deliveries.map((d) => `${ids.indexOf(d.event_id)}:${d.webhook_endpoint_id}`).sort();
    expect(pairs).toEqual([`0:${all.id}`, `1:${all.id}`, `1:${charges.id}`].sort());
    const events = (await db("events").whereIn("id", ids).orderBy("seq", "asc")) as Array<{ pending_webhooks: number }>;
    expect(events.map((e) => Number(e.pending_webhooks))).toEqual([1, 2]);
    for (const ep of [all, charges]) await call(endpoints, "deleteWebhookEndpoint", { id: ep.id }, md);
  });

  it("an endpoint created by another process gets the very next event", async () => {
    const { db } = core.deps;
    await flow(["customer.created"]); // none yet
    // Another process creates an endpoint: this process is not told.
    const id = `we_other_${Date.now()}`;
    await db("webhook_endpoints").insert({ id, merchant_id: scope.merchantId, livemode: false, url: receiver.url, enabled_events: '["*"]', metadata: "{}", secret_enc: "unused", created: 1 });
    const [first] = await flow(["customer.updated"]);
    expect(await db("webhook_deliveries").where({ event_id: first, webhook_endpoint_id: id }).first()).toBeDefined();
    // From then on every event gets it.
    const [next] = await flow(["customer.updated"]);
    expect(await db("webhook_deliveries").where({ event_id: next, webhook_endpoint_id: id }).first()).toBeDefined();
    await db("webhook_deliveries").where({ webhook_endpoint_id: id }).delete();
    await db("webhook_endpoints").where({ id }).delete();
  });
});
