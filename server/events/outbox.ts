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
 * The merchant's enabled endpoints (id and enabled_events) as `trx` sees them.
 * Read in the event's own transaction, never cached: an endpoint committed
 * by any process before this transaction gets its events, and one disabled
 * or deleted gets none. One indexed read per transaction, however many events.
 */
async function enabledEndpoints(trx: Knex | Knex.Transaction, scope: EventScope): Promise<Array<{ id: string; events: string[] }>> {
  const rows: Array<{ id: string; enabled_events: string }> = await trx("webhook_endpoints")
    .select("id", "enabled_events")
    .where({ merchant_id: scope.merchantId, livemode: scope.livemode, disabled: false });
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
