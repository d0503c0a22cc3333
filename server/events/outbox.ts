// The outbox: every state change writes its event in the same transaction
// as the change, together with one pending webhook delivery per matching
// endpoint. Once the transaction commits, nothing can be lost: the worker
// finds the deliveries in the database even if this process dies right after.
import type { Knex } from "knex";
import type { JsonValue } from "@bufbuild/protobuf";
import { isPostgres } from "../db/knex";
import { newId } from "../domain/ids";
import { signalEventsCommitted } from "./bus";

/** Whose event this is and which API request caused it. */
export interface EventScope {
  merchantId: string;
  livemode: boolean;
  requestId?: string;
  idempotencyKey?: string;
}

/** One event to record: its type and the API object (canonical JSON). */
export interface NewEvent {
  type: string;
  object: JsonValue;
}

/** Whether an endpoint's `enabled_events` list selects events of `type`. */
export function endpointWants(enabledEvents: readonly string[], type: string): boolean {
  return enabledEvents.includes("*") || enabledEvents.includes(type);
}

/**
 * How long this process may believe that a merchant and mode have no enabled
 * webhook endpoint without asking the database again. Most merchants have
 * none, and every payment transaction records events. An endpoint created or
 * enabled in this process clears the entry at once; one created or enabled in
 * another process is seen by events recorded at most this long afterwards.
 * Only the "none" answer is cached: a merchant with endpoints always reads
 * them, so a disabled or deleted endpoint never gets new deliveries.
 */
export const NO_ENDPOINTS_TTL_MS = 1000;
const NO_ENDPOINTS_MAX = 100_000;

// "merchant:mode" → when "no enabled endpoint" was read (ms).
const noEndpoints = new Map<string, number>();
// Bumped by every endpoint change in this process: an answer read before a
// change is not cached after it (the read may predate the change's commit).
let generation = 0;

const scopeKey = (scope: { merchantId: string; livemode: boolean }) => `${scope.merchantId}:${scope.livemode ? "live" : "test"}`;

/** Forgets what this process knows of a merchant's endpoints (call after creating, updating or deleting one). */
export function endpointsChanged(scope: { merchantId: string; livemode: boolean }): void {
  generation++;
  noEndpoints.delete(scopeKey(scope));
}

/** The merchant's enabled endpoints (id and enabled_events) as `trx` sees them, or none when recently known to have none. */
async function enabledEndpoints(trx: Knex | Knex.Transaction, scope: EventScope): Promise<Array<{ id: string; events: string[] }>> {
  const key = scopeKey(scope);
  const seen = noEndpoints.get(key);
  if (seen !== undefined && Date.now() - seen < NO_ENDPOINTS_TTL_MS) return [];
  const before = generation;
  const readAt = Date.now();
  const rows: Array<{ id: string; enabled_events: string }> = await trx("webhook_endpoints")
    .select("id", "enabled_events")
    .where({ merchant_id: scope.merchantId, livemode: scope.livemode, disabled: false });
  if (rows.length === 0 && generation === before) {
    if (noEndpoints.size >= NO_ENDPOINTS_MAX) noEndpoints.clear();
    noEndpoints.set(key, readAt);
  } else if (rows.length > 0) {
    noEndpoints.delete(key);
  }
  return rows.map((r) => ({ id: r.id, events: JSON.parse(r.enabled_events) as string[] }));
}

/**
 * Writes an event (and its pending webhook deliveries) in the caller's transaction.
 * Call it as the last writes of the transaction: on PostgreSQL it holds the
 * merchant's event lock until commit (see recordEvents).
 */
export async function recordEvent(trx: Knex | Knex.Transaction, scope: EventScope, type: string, object: JsonValue): Promise<string> {
  const [id] = await recordEvents(trx, scope, [{ type, object }]);
  return id;
}

/**
 * Writes several events of one scope, in order, and their pending webhook
 * deliveries in the caller's transaction: one endpoint lookup and one insert
 * per table however many events. Call it as the last writes of the transaction.
 * Returns the evt_ ids in the order given.
 */
export async function recordEvents(trx: Knex | Knex.Transaction, scope: EventScope, events: readonly NewEvent[]): Promise<string[]> {
  if (events.length === 0) return [];
  const created = Math.floor(Date.now() / 1000);

  // Why a lock: `seq` comes from a sequence, and on PostgreSQL two
  // transactions can take 10 and 11 and commit 11 first. A stream reader
  // that saw 11 and moved its cursor past it would then never see 10. Taking
  // a per-merchant, per-mode transaction lock before the insert means the
  // next event of the same merchant cannot take its seq until this
  // transaction has committed (or rolled back), so within one merchant's
  // stream seq order is commit order and a "seq > cursor" read is safe.
  // SQLite has a single writer, so commits are already in seq order there.
  if (isPostgres(trx)) {
    await trx.raw("select pg_advisory_xact_lock(hashtext(?))", [`events:${scope.merchantId}:${scope.livemode ? "live" : "test"}`]);
  }

  const endpoints = await enabledEndpoints(trx, scope);
  const rows = events.map((e) => {
    const matching = endpoints.filter((ep) => endpointWants(ep.events, e.type));
    return { id: newId("evt"), type: e.type, object: e.object, matching };
  });

  // One multi-row INSERT: both databases draw `seq` in the order of the rows.
  await trx("events").insert(
    rows.map((r) => ({
      id: r.id,
      merchant_id: scope.merchantId,
      livemode: scope.livemode,
      type: r.type,
      created,
      data: JSON.stringify(r.object),
      request_id: scope.requestId ?? null,
      idempotency_key: scope.idempotencyKey ?? null,
      pending_webhooks: r.matching.length,
    })),
  );

  const due = Date.now();
  const deliveries = rows.flatMap((r) =>
    r.matching.map((ep) => ({
      id: newId("whd"),
      merchant_id: scope.merchantId,
      livemode: scope.livemode,
      event_id: r.id,
      webhook_endpoint_id: ep.id,
      status: "pending",
      attempt_count: 0,
      next_attempt_ms: due,
      created,
    })),
  );
  // SQLite allows 999 bound variables per statement; a delivery row has 9.
  for (let i = 0; i < deliveries.length; i += 100) await trx("webhook_deliveries").insert(deliveries.slice(i, i + 100));

  // Wake the worker and open streams once the data is visible. Outside a
  // transaction it is visible now; inside one, when the transaction ends
  // (a rollback also wakes them: they find nothing, which is harmless).
  const signal = { merchantId: scope.merchantId, livemode: scope.livemode, deliveries: deliveries.length > 0 };
  const done = (trx as Partial<Knex.Transaction>).executionPromise;
  if (done) {
    done.then(
      () => signalEventsCommitted(signal),
      () => undefined,
    );
  } else {
    signalEventsCommitted(signal);
  }
  return rows.map((r) => r.id);
}
