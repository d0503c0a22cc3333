// knex queries over the webhook tables: endpoints (always within one merchant
// and mode), deliveries and their attempts, and the worker's leases.
import type { Knex } from "knex";
import { pageRows, type Scope } from "../db/resources";
import type { PageParams } from "../domain/pagination";
import type { EventRow } from "../events/mapper";
import type { AttemptRow, DeliveryRow, EndpointRow } from "./mapper";

/** One endpoint of this scope by id, or undefined. */
export async function findEndpoint(db: Knex, scope: Scope, id: string): Promise<EndpointRow | undefined> {
  return (await db("webhook_endpoints").where({ id, merchant_id: scope.merchantId, livemode: scope.livemode }).first()) as EndpointRow | undefined;
}

/** Inserts a new endpoint (its `seq` is assigned by the database). */
export async function insertEndpoint(db: Knex, row: EndpointRow): Promise<void> {
  const { seq: _seq, ...insert } = row;
  await db("webhook_endpoints").insert(insert);
}

/** Changes an endpoint's columns. */
export async function updateEndpoint(db: Knex, id: string, patch: Partial<EndpointRow>): Promise<void> {
  await db("webhook_endpoints").where({ id }).update(patch);
}

/** Makes an endpoint's pending deliveries due now (they were held while it was disabled). */
export async function resumeDeliveries(db: Knex, endpointId: string, nowMs: number): Promise<void> {
  await db("webhook_deliveries").where({ webhook_endpoint_id: endpointId, status: "pending" }).update({ next_attempt_ms: nowMs });
}

/**
 * Deletes an endpoint. Its pending deliveries are dropped and stop counting
 * in their events' pending_webhooks; finished ones stay as the event's history.
 */
export async function deleteEndpoint(db: Knex, id: string): Promise<void> {
  await db.transaction(async (trx) => {
    const pending = (await trx("webhook_deliveries").select("id", "event_id").where({ webhook_endpoint_id: id, status: "pending" })) as Array<{
      id: string;
      event_id: string;
    }>;
    if (pending.length > 0) {
      const ids = pending.map((p) => p.id);
      await trx("events").whereIn("id", [...new Set(pending.map((p) => p.event_id))]).where("pending_webhooks", ">", 0).decrement("pending_webhooks", 1);
      await trx("webhook_attempts").whereIn("delivery_id", ids).delete();
      await trx("webhook_deliveries").whereIn("id", ids).delete();
    }
    await trx("webhook_endpoints").where({ id }).delete();
  });
}

/** One page of the scope's endpoints, newest first. */
export function pageEndpoints(db: Knex, scope: Scope, page: PageParams): Promise<{ rows: EndpointRow[]; hasMore: boolean }> {
  return pageRows<EndpointRow>(db, "webhook_endpoints", "webhook_endpoint", scope, page);
}

/** Which deliveries a delivery list shows: one endpoint's or one event's, optionally one status. */
export interface DeliveryFilter {
  endpointId?: string;
  eventId?: string;
  status?: string;
}

/** One page of the scope's deliveries matching `filter`, newest first. */
export function pageDeliveries(db: Knex, scope: Scope, page: PageParams, filter: DeliveryFilter): Promise<{ rows: DeliveryRow[]; hasMore: boolean }> {
  return pageRows<DeliveryRow>(db, "webhook_deliveries", "webhook_delivery", scope, page, (q) => {
    if (filter.endpointId) q.where({ webhook_endpoint_id: filter.endpointId });
    if (filter.eventId) q.where({ event_id: filter.eventId });
    if (filter.status !== undefined) q.where({ status: filter.status });
  });
}

/** One delivery of this scope by id, or undefined. */
export async function findDelivery(db: Knex, scope: Scope, id: string): Promise<DeliveryRow | undefined> {
  return (await db("webhook_deliveries").where({ id, merchant_id: scope.merchantId, livemode: scope.livemode }).first()) as DeliveryRow | undefined;
}

/** One delivery by id (already scoped by the caller), or undefined. */
export async function deliveryById(db: Knex, id: string): Promise<DeliveryRow | undefined> {
  return (await db("webhook_deliveries").where({ id }).first()) as DeliveryRow | undefined;
}

/** The attempts of `deliveryIds`, oldest first. */
export async function attemptsOf(db: Knex, deliveryIds: string[]): Promise<AttemptRow[]> {
  if (deliveryIds.length === 0) return [];
  return (await db("webhook_attempts").whereIn("delivery_id", deliveryIds).orderBy("seq", "asc")) as AttemptRow[];
}

/** Events and endpoints by id, for a batch of leased deliveries. */
export async function eventsAndEndpoints(db: Knex, eventIds: string[], endpointIds: string[]): Promise<[EventRow[], EndpointRow[]]> {
  return Promise.all([
    db("events").whereIn("id", eventIds) as Promise<EventRow[]>,
    db("webhook_endpoints").whereIn("id", endpointIds) as Promise<EndpointRow[]>,
  ]);
}

/** Rows whose lease is free (never taken, or expired) at `now`. */
function leaseFree(q: Knex.QueryBuilder, now: number): Knex.QueryBuilder {
  return q.where((w) => w.whereNull("lease_expires_ms").orWhere("lease_expires_ms", "<", now));
}

/**
 * Leases the deliveries `ids` for `leaseToken` if they are still free; returns
 * the rows actually leased. The UPDATE re-checks the lease condition row by
 * row (PostgreSQL re-evaluates it after waiting on a concurrent update), so
 * of two workers racing for a row exactly one wins.
 */
export async function leaseDeliveries(db: Knex, ids: string[], leaseToken: string, leaseMs: number, onlyDue: boolean): Promise<DeliveryRow[]> {
  if (ids.length === 0) return [];
  const now = Date.now();
  let q = leaseFree(db("webhook_deliveries").whereIn("id", ids), now);
  if (onlyDue) q = q.where({ status: "pending" }).where("next_attempt_ms", "<=", now);
  const changed = await q.update({ lease_owner: leaseToken, lease_expires_ms: now + leaseMs });
  if (changed === 0) return [];
  return (await db("webhook_deliveries").whereIn("id", ids).where({ lease_owner: leaseToken })) as DeliveryRow[];
}

/** Due, unleased deliveries, oldest due first, leaving out the endpoints `skip`. */
export async function dueDeliveries(db: Knex, now: number, skip: string[], limit: number): Promise<Array<{ id: string; webhook_endpoint_id: string }>> {
  let q = leaseFree(db("webhook_deliveries").select("id", "webhook_endpoint_id").where({ status: "pending" }).where("next_attempt_ms", "<=", now), now);
  if (skip.length > 0) q = q.whereNotIn("webhook_endpoint_id", skip);
  return (await q.orderBy("next_attempt_ms", "asc").limit(limit)) as Array<{ id: string; webhook_endpoint_id: string }>;
}

/** When the next unleased pending delivery falls due (ms), leaving out the endpoints `skip`; undefined if none. */
export async function nextDueMs(db: Knex, now: number, skip: string[]): Promise<number | undefined> {
  let q = leaseFree(db("webhook_deliveries").where({ status: "pending" }), now);
  if (skip.length > 0) q = q.whereNotIn("webhook_endpoint_id", skip);
  const row = (await q.min({ due: "next_attempt_ms" }).first()) as { due: number | string | null } | undefined;
  return row?.due == null ? undefined : Number(row.due);
}

/** Releases a lease without counting an attempt, to try again at `dueMs`. */
export async function postponeDelivery(db: Knex, id: string, leaseToken: string, dueMs: number): Promise<void> {
  await db("webhook_deliveries").where({ id, lease_owner: leaseToken }).update({ next_attempt_ms: dueMs, lease_owner: null, lease_expires_ms: null });
}

/** Deletes a leased delivery whose event or endpoint is gone. */
export async function dropDelivery(db: Knex, id: string, leaseToken: string): Promise<void> {
  await db("webhook_deliveries").where({ id, lease_owner: leaseToken }).delete();
}
