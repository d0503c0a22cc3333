// knex queries over the events table, always within one merchant and mode.
import type { Knex } from "knex";
import type { Scope } from "../db/resources";
import type { EventRow } from "./mapper";

/** The scoped events query. */
export function scopedEvents(db: Knex, scope: Scope): Knex.QueryBuilder {
  return db("events").where({ merchant_id: scope.merchantId, livemode: scope.livemode });
}

/** One event by id, or undefined. */
export async function findEvent(db: Knex, scope: Scope, id: string): Promise<EventRow | undefined> {
  return (await scopedEvents(db, scope).where({ id }).first()) as EventRow | undefined;
}

/** The seq of an event of this scope, or undefined. */
export async function eventSeq(db: Knex, scope: Scope, id: string): Promise<number | undefined> {
  const row = (await scopedEvents(db, scope).where({ id }).first("seq")) as { seq: number } | undefined;
  return row ? Number(row.seq) : undefined;
}

/** The scope's newest seq (0 when it has no events). */
export async function latestSeq(db: Knex, scope: Scope): Promise<number> {
  const row = (await scopedEvents(db, scope).max({ seq: "seq" }).first()) as { seq: number | null } | undefined;
  return Number(row?.seq ?? 0);
}

/** Events after `seq`, oldest first, at most `limit`, optionally only of `types`. */
export async function eventsAfter(db: Knex, scope: Scope, seq: number, types: readonly string[], limit: number): Promise<EventRow[]> {
  let q = scopedEvents(db, scope).where("seq", ">", seq);
  if (types.length > 0) q = q.whereIn("type", types as string[]);
  return (await q.orderBy("seq", "asc").limit(limit)) as EventRow[];
}
