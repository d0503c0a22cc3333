// The Events API over gRPC: retrieve, list (type filter, cursors), the live
// stream (each event once, in commit order, resumable without gaps), and
// retention.
import type * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CustomerServiceClient } from "../../gen/payments/v1/customers";
import { EventServiceClient, type Event, type StreamEventsRequest, type StreamEventsResponse } from "../../gen/payments/v1/events";
import { pruneEvents } from "../../server/events/retention";
import { recordEvent } from "../../server/events/outbox";
import { call } from "../support/grpc";
import { BACKENDS, startTestCore, type TestCore } from "../support/core";
import { waitFor } from "../webhooks/support";

/** An open stream and what it has received so far. */
interface OpenStream {
  events: Event[];
  error?: grpc.ServiceError;
  call: grpc.ClientReadableStream<StreamEventsResponse>;
}

function openStream(client: EventServiceClient, req: Partial<StreamEventsRequest>, md: grpc.Metadata): OpenStream {
  const s: OpenStream = { events: [], call: client.streamEvents({ types: [], ...req }, md) };
  s.call.on("data", (m: StreamEventsResponse) => s.events.push(m.event!));
  s.call.on("error", (err: grpc.ServiceError) => {
    s.error = err;
  });
  return s;
}

describe.each(BACKENDS)("events (%s)", (backend) => {
  let core: TestCore;
  let events: EventServiceClient;
  let customers: CustomerServiceClient;
  const md = () => core.metadata(core.keys.secret);
  const newCustomer = async (email: string) => {
    const res = await call(customers, "createCustomer", { email, metadata: {} }, md());
    expect(res.error).toBeUndefined();
    return res.value!.customer!.id;
  };

  beforeAll(async () => {
    core = await startTestCore({ backend });
    events = core.client(EventServiceClient);
    customers = core.client(CustomerServiceClient);
  });
  afterAll(async () => {
    await core?.close();
  });

  it("retrieves and lists events newest first, filtered by type, with cursors", async () => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await newCustomer(`l${i}@example.com`));
    await call(customers, "updateCustomer", { id: ids[0], name: "Renamed", metadata: {} }, md());

    const all = await call(events, "listEvents", { limit: 3 }, md());
    expect(all.value!.object).toBe("list");
    expect(all.value!.url).toBe("/v1/events");
    expect(all.value!.data).toHaveLength(3);
    expect(all.value!.has_more).toBe(true);
    expect(all.value!.data[0].type).toBe("customer.updated");
    expect(all.value!.data[0].data!.object!.name).toBe("Renamed");

    const created = await call(events, "listEvents", { limit: 100, type: "customer.created" }, md());
    const createdFor = created.value!.data.map((e) => e.data!.object!.id as string);
    expect(createdFor.slice(0, 5)).toEqual([...ids].reverse());
    expect(created.value!.data.every((e) => e.type === "customer.created")).toBe(true);

    const page2 = await call(events, "listEvents", { limit: 2, type: "customer.created", starting_after: created.value!.data[1].id }, md());
    expect(page2.value!.data.map((e) => e.id)).toEqual(created.value!.data.slice(2, 4).map((e) => e.id));
    const back = await call(events, "listEvents", { limit: 2, type: "customer.created", ending_before: created.value!.data[3].id }, md());
    expect(back.value!.data.map((e) => e.id)).toEqual(created.value!.data.slice(1, 3).map((e) => e.id));

    const one = await call(events, "getEvent", { id: all.value!.data[0].id }, md());
    expect(one.value!.event).toEqual(all.value!.data[0]);
  });

  it("answers in the spec's error format for unknown ids, types and other merchants' events", async () => {
    const list = await call(events, "listEvents", { limit: 1 }, md());
    const id = list.value!.data[0].id;
    const missing = await call(events, "getEvent", { id: "evt_nope" }, md());
    expect(missing.detail).toMatchObject({ type: "invalid_request_error", code: "resource_missing", param: "id" });
    const noId = await call(events, "getEvent", { id: "" }, md());
    expect(noId.detail).toMatchObject({ type: "invalid_request_error", code: "parameter_missing", param: "id" });
    const foreign = await call(events, "getEvent", { id }, core.metadata(core.otherMerchant.secret));
    expect(foreign.detail?.code).toBe("resource_missing");
    const live = await call(events, "getEvent", { id }, core.metadata(core.keys.liveSecret));
    expect(live.detail?.code).toBe("resource_missing");
    const badType = await call(events, "listEvents", { type: "customer.exploded" }, md());
    expect(badType.detail).toMatchObject({ code: "parameter_invalid", param: "type" });
    const badLimit = await call(events, "listEvents", { limit: 101 }, md());
    expect(badLimit.detail?.param).toBe("limit");
  });

  it("streams each event once, in commit order, and a reconnect with the last id misses nothing", async () => {
    const start = await newCustomer("stream-start@example.com");
    const startEvent = (await call(events, "listEvents", { limit: 1 }, md())).value!.data[0];
    expect(startEvent.data!.object!.id).toBe(start);

    const first = openStream(events, { starting_after: startEvent.id }, md());
    // Concurrent writers: on PostgreSQL these commit in parallel.
    const made = await Promise.all(Array.from({ length: 20 }, (_, i) => newCustomer(`s${i}@example.com`)));
    await waitFor(() => first.events.length >= 20, 10_000, "20 streamed events");
    expect(first.error).toBeUndefined();

    // Disconnect, make more events while away, reconnect from the last id seen.
    first.call.cancel();
    const lastSeen = first.events.at(-1)!.id;
    const whileAway = await Promise.all(Array.from({ length: 10 }, (_, i) => newCustomer(`away${i}@example.com`)));
    const second = openStream(events, { starting_after: lastSeen }, md());
    const afterReconnect = await Promise.all(Array.from({ length: 5 }, (_, i) => newCustomer(`back${i}@example.com`)));
    await waitFor(() => second.events.length >= 15, 10_000, "15 streamed events after reconnect");
    second.call.cancel();

    const streamed = [...first.events, ...second.events];
    const streamedIds = streamed.map((e) => e.id);
    expect(new Set(streamedIds).size).toBe(streamedIds.length);
    const customersSeen = streamed.map((e) => e.data!.object!.id as string);
    expect(new Set(customersSeen)).toEqual(new Set([...made, ...whileAway, ...afterReconnect]));

    // Commit order: the order the database assigned (oldest first), which is ListEvents' order reversed.
    const listed = (await call(events, "listEvents", { limit: 100, ending_before: startEvent.id }, md())).value!.data.reverse();
    expect(streamedIds).toEqual(listed.map((e) => e.id).slice(0, streamedIds.length));
  });

  it.runIf(backend === "postgres")("makes a later event of the merchant wait for an earlier uncommitted one, so the stream never skips it", async () => {
    const { db } = core.deps;
    const scope = { merchantId: core.merchantId, livemode: false };
    const startEvent = (await call(events, "listEvents", { limit: 1 }, md())).value!.data[0];
    const s = openStream(events, { starting_after: startEvent.id }, md());

    const slow = await db.transaction();
    const firstId = await recordEvent(slow, scope, "customer.updated", { id: "cus_slow", object: "customer" });
    let secondId: string | undefined;
    const fast = db.transaction((trx) => recordEvent(trx, scope, "customer.updated", { id: "cus_fast", object: "customer" })).then((id) => (secondId = id));
    // The second writer is blocked on the merchant's event lock, not committed ahead of the first.
    await waitFor(async () => {
      const r = await db.raw("select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted");
      return r.rows[0].n > 0;
    });
    expect(secondId).toBeUndefined();
    expect(s.events).toHaveLength(0);
    await slow.commit();
    await fast;
    await waitFor(() => s.events.length >= 2);
    expect(s.events.map((e) => e.id)).toEqual([firstId, secondId]);
    s.call.cancel();
  });

  it("filters the stream by type and rejects unknown types and cursors", async () => {
    const cus = await newCustomer("filter@example.com");
    const startEvent = (await call(events, "listEvents", { limit: 1 }, md())).value!.data[0];
    const s = openStream(events, { starting_after: startEvent.id, types: ["customer.updated"] }, md());
    await newCustomer("filter2@example.com");
    await call(customers, "updateCustomer", { id: cus, name: "Filtered", metadata: {} }, md());
    await waitFor(() => s.events.length >= 1);
    expect(s.events.map((e) => e.type)).toEqual(["customer.updated"]);
    s.call.cancel();

    const bad = openStream(events, { types: ["nope.nope"] }, md());
    await waitFor(() => bad.error);
    expect(bad.error!.details).toContain("Unknown event type");
    const unknownCursor = openStream(events, { starting_after: "evt_missing" }, md());
    await waitFor(() => unknownCursor.error);
    expect(unknownCursor.error!.details).toContain("No such event");
  });

  it("keeps events 30 days and prunes older ones", async () => {
    const id = await core.deps.db.transaction((trx) => recordEvent(trx, { merchantId: core.merchantId, livemode: false }, "customer.deleted", { id: "cus_old", object: "customer", deleted: true }));
    const now = Math.floor(Date.now() / 1000);
    await core.deps.db("events").where({ id }).update({ created: now - 31 * 86_400 });
    const recent = (await call(events, "listEvents", { limit: 1, type: "customer.created" }, md())).value!.data[0];
    await core.deps.db("events").where({ id: recent.id }).update({ created: now - 29 * 86_400 });
    expect(await pruneEvents(core.deps.db, 30, now)).toBe(1);
    expect((await call(events, "getEvent", { id }, md())).detail?.code).toBe("resource_missing");
    expect((await call(events, "getEvent", { id: recent.id }, md())).value!.event!.id).toBe(recent.id);
  });
});
