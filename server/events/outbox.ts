// The outbox: every state change writes its event in the same transaction
// as the change, together with one pending webhook delivery per matching
// endpoint. Once the transaction commits, nothing can be lost: the worker
// finds the deliveries in the database even if this process dies right after.
import type { Knex } from "knex";
import type { JsonValue } from "@bufbuild/protobuf";
import { newId } from "./ids";
import { signalEventsCommitted } from "./bus";

/** Whose event this is and which API request caused it. */
export interface EventScope {
  merchantId: string;
  livemode: boolean;
  requestId?: string;
  idempotencyKey?: string;
}

/** Whether an endpoint's `enabled_events` list selects events of `type`. */
export function endpointWants(enabledEvents: readonly string[], type: string): boolean {
  return enabledEvents.includes("*") || enabledEvents.includes(type);
}

/** True when `db` talks to PostgreSQL. */
export function isPostgres(db: Knex | Knex.Transaction): boolean {
  const client = (db as unknown as { client: { dialect?: string; config?: { client?: unknown } } }).client;
  return client.dialect === "postgresql" || client.config?.client === "pg";
}

/**
 * Writes an event (and its pending webhook deliveries) in the caller's transaction.
 * Call it as the last writes of the transaction: on PostgreSQL it holds the
 * merchant's event lock until commit (see below).
 */
export async function recordEvent(
  trx: Knex | Knex.Transaction,
  scope: EventScope,
  type: string,
  object: JsonValue,
): Promise<string> {
  const id = newId("evt");
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

  const endpoints: Array<{ id: string; enabled_events: string }> = await trx("webhook_endpoints")
    .select("id", "enabled_events")
    .where({ merchant_id: scope.merchantId, livemode: scope.livemode, disabled: false });
  const matching = endpoints.filter((e) => endpointWants(JSON.parse(e.enabled_events) as string[], type));

  await trx("events").insert({
    id,
    merchant_id: scope.merchantId,
    livemode: scope.livemode,
    type,
    created,
    data: JSON.stringify(object),
    request_id: scope.requestId ?? null,
    idempotency_key: scope.idempotencyKey ?? null,
    pending_webhooks: matching.length,
  });

  if (matching.length > 0) {
    const due = Date.now();
    await trx("webhook_deliveries").insert(
      matching.map((e) => ({
        id: newId("whd"),
        merchant_id: scope.merchantId,
        livemode: scope.livemode,
        event_id: id,
        webhook_endpoint_id: e.id,
        status: "pending",
        attempt_count: 0,
        next_attempt_ms: due,
        created,
      })),
    );
  }

  // Wake the worker and open streams once the data is visible. Outside a
  // transaction it is visible now; inside one, when the transaction ends
  // (a rollback also wakes them: they find nothing, which is harmless).
  const signal = { merchantId: scope.merchantId, livemode: scope.livemode, deliveries: matching.length > 0 };
  const done = (trx as Partial<Knex.Transaction>).executionPromise;
  if (done) {
    done.then(
      () => signalEventsCommitted(signal),
      () => undefined,
    );
  } else {
    signalEventsCommitted(signal);
  }
  return id;
}
