// Event retention: events are kept at least 30 days (EVENT_RETENTION_DAYS,
// never less), then pruned with their deliveries and attempts. The webhook
// worker runs this hourly; it is idempotent, so several processes may.
import type { Knex } from "knex";

const BATCH = 1000;

/** Deletes events older than `retentionDays` (and their deliveries and attempts); returns how many. */
export async function pruneEvents(db: Knex, retentionDays: number, nowSeconds = Math.floor(Date.now() / 1000)): Promise<number> {
  const cutoff = nowSeconds - Math.max(30, retentionDays) * 86_400;
  let total = 0;
  for (;;) {
    const ids = ((await db("events").select("id").where("created", "<", cutoff).limit(BATCH)) as Array<{ id: string }>).map((r) => r.id);
    if (ids.length === 0) return total;
    await db.transaction(async (trx) => {
      const deliveries = trx("webhook_deliveries").select("id").whereIn("event_id", ids);
      await trx("webhook_attempts").whereIn("delivery_id", deliveries).delete();
      await trx("webhook_deliveries").whereIn("event_id", ids).delete();
      await trx("events").whereIn("id", ids).delete();
    });
    total += ids.length;
  }
}
