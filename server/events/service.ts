// EventService: read back and stream the merchant's events.
import { EventServiceService, type ListEventsResponse } from "../../gen/payments/v1/events";
import type { Knex } from "knex";
import type { CoreDeps } from "../deps";
import { invalidParam, missingParam, resourceMissing } from "../errors";
import type { Handlers } from "../methods";
import { onEventsCommitted } from "./bus";
import { toEvent, type EventRow } from "./mapper";
import { pageRows, scopeOf } from "../db/resources";
import { parsePage } from "../domain/pagination";
import { eventSeq, eventsAfter, findEvent, latestSeq } from "./store";
import { isEventType } from "./types";

/** How often an idle stream looks for events committed by other processes. */
const STREAM_POLL_MS = 500;
/** Rows read per stream query. */
const STREAM_BATCH = 200;

/** The EventService handlers. */
export function eventHandlers(deps: CoreDeps): Handlers<typeof EventServiceService> {
  const { db } = deps;
  return {
    async getEvent(ctx, req) {
      if (!req.id) throw missingParam("id");
      const row = await findEvent(db, scopeOf(ctx), req.id);
      if (!row) throw resourceMissing("event", req.id);
      return { event: toEvent(row) };
    },

    async listEvents(ctx, req): Promise<ListEventsResponse> {
      const page = parsePage(req);
      if (req.type !== undefined && !isEventType(req.type)) throw invalidParam("type", `Unknown event type: '${req.type}'.`);
      const result = await pageRows<EventRow>(db, "events", "event", scopeOf(ctx), page, (q: Knex.QueryBuilder) => {
        if (req.type !== undefined) q.where({ type: req.type });
      });
      return { object: "list", data: result.rows.map(toEvent), has_more: result.hasMore, url: "/v1/events" };
    },

    // Streams events in seq order. That is commit order within a merchant
    // because recordEvent takes a per-merchant lock on PostgreSQL before
    // drawing its seq (server/events/outbox.ts), so once a reader sees seq N
    // committed, every smaller seq of that merchant is committed too (or was
    // rolled back and never will be) and a "seq > cursor" read misses nothing.
    async streamEvents(ctx, req, send) {
      const scope = scopeOf(ctx);
      for (const type of req.types) {
        if (!isEventType(type)) throw invalidParam("types", `Unknown event type: '${type}'.`);
      }
      let cursor: number;
      if (req.starting_after) {
        const seq = await eventSeq(db, scope, req.starting_after);
        if (seq === undefined) throw resourceMissing("event", req.starting_after, "starting_after");
        cursor = seq;
      } else {
        cursor = await latestSeq(db, scope);
      }
      // The arguments are good: open the stream now rather than with the first event.
      ctx.flushHeaders();

      // `dirty` is set by a commit signal that arrives while we read, so a
      // commit between the read and the wait is never slept through.
      let dirty = true;
      let wake: (() => void) | undefined;
      const unsubscribe = onEventsCommitted((s) => {
        if (s.merchantId === scope.merchantId && s.livemode === scope.livemode) {
          dirty = true;
          wake?.();
        }
      });
      const onAbort = () => wake?.();
      ctx.signal.addEventListener("abort", onAbort);
      try {
        while (!ctx.signal.aborted) {
          dirty = false;
          const rows = await eventsAfter(db, scope, cursor, req.types, STREAM_BATCH);
          for (const row of rows) {
            if (ctx.signal.aborted) return;
            await send({ event: toEvent(row) });
            cursor = Number(row.seq);
          }
          if (rows.length === STREAM_BATCH || dirty) continue;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, STREAM_POLL_MS);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
      } finally {
        unsubscribe();
        ctx.signal.removeEventListener("abort", onAbort);
      }
    },
  };
}
