// The lease protocol on each backend: concurrent claims never share a
// delivery, and a worker whose lease expired and was taken over cannot
// overwrite the new holder's outcome (its attempt is still recorded).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordEvent } from "../../server/events/outbox";
import { AttemptRecorder } from "../../server/webhooks/recorder";
import { leaseDeliveries } from "../../server/webhooks/store";
import { BACKENDS, startTestCore, type TestCore } from "../support/core";

describe.each(BACKENDS)("delivery leases (%s)", (backend) => {
  let core: TestCore;
  let ids: string[];

  beforeAll(async () => {
    core = await startTestCore({ backend, webhookWorker: false });
    const { db } = core.deps;
    await db("webhook_endpoints").insert({ id: "we_lease", merchant_id: core.merchantId, livemode: false, url: "http://127.0.0.1:9/x", enabled_events: '["*"]', secret_enc: "v1:x", created: 1 });
    for (let i = 0; i < 50; i++) {
      await db.transaction((trx) => recordEvent(trx, { merchantId: core.merchantId, livemode: false }, "customer.created", { id: `cus_${i}` }));
    }
    ids = (await db("webhook_deliveries").where({ webhook_endpoint_id: "we_lease" }).select("id")).map((r: { id: string }) => r.id);
    expect(ids).toHaveLength(50);
  });
  afterAll(async () => {
    await core?.close();
  });

  it("gives each delivery to exactly one of several concurrent claimers", async () => {
    const claims = await Promise.all(Array.from({ length: 6 }, (_, i) => leaseDeliveries(core.deps.db, ids, `worker-${i}:1`, 60_000, true)));
    const all = claims.flat().map((d) => d.id);
    expect(all.sort()).toEqual([...ids].sort());
    expect(new Set(all).size).toBe(all.length);
    // Nothing is free until the leases expire.
    expect(await leaseDeliveries(core.deps.db, ids, "late:1", 60_000, true)).toHaveLength(0);
  });

  it("ignores the outcome of a worker whose lease was taken over, but keeps its attempt", async () => {
    const { db } = core.deps;
    const id = ids[0];
    await db("webhook_deliveries").where({ id }).update({ lease_owner: "old:1", lease_expires_ms: Date.now() - 1 });
    const [taken] = await leaseDeliveries(db, [id], "new:1", 60_000, true);
    expect(taken.lease_owner).toBe("new:1");

    const recorder = new AttemptRecorder(db);
    const attempt = { created: 1, response_status: 200, latency_ms: 3, response_snippet: "ok", error: null };
    const [stale, current] = await Promise.all([
      recorder.record({ deliveryId: id, eventId: taken.event_id, leaseToken: "old:1", attempt, update: { status: "failed", lease_owner: null, lease_expires_ms: null }, decrementPending: false }),
      recorder.record({ deliveryId: id, eventId: taken.event_id, leaseToken: "new:1", attempt, update: { status: "succeeded", attempt_count: 1, next_attempt_ms: null, lease_owner: null, lease_expires_ms: null }, decrementPending: true }),
    ]);
    expect([stale, current]).toEqual([false, true]);
    const row = await db("webhook_deliveries").where({ id }).first();
    expect(row.status).toBe("succeeded");
    expect(await db("webhook_attempts").where({ delivery_id: id })).toHaveLength(2);
    const event = await db("events").where({ id: taken.event_id }).first();
    expect(Number(event.pending_webhooks)).toBe(0);
  });
});
