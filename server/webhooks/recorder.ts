// Writes attempt outcomes in batches: every outcome that finishes while a
// write is in progress goes into the next transaction together (group
// commit). One transaction per delivery was the worker's bottleneck on
// SQLite, whose single writer commits one transaction at a time. An outcome
// is acknowledged to the worker only once its transaction has committed; a
// crash before that leaves the lease to expire and the delivery is retried.
import type { Knex } from "knex";

/** One finished attempt and what it changes. */
export interface AttemptRecord {
  deliveryId: string;
  eventId: string;
  leaseToken: string;
  attempt: {
    created: number;
    response_status: number | null;
    latency_ms: number;
    response_snippet: string | null;
    error: string | null;
  };
  /** The new delivery columns (status, attempt_count, next_attempt_ms, lease cleared). */
  update: Record<string, unknown>;
  /** The delivery just succeeded for the first time: one fewer pending webhook on its event. */
  decrementPending: boolean;
}

interface Queued {
  record: AttemptRecord;
  resolve(applied: boolean): void;
  reject(err: unknown): void;
}

/** Rows per multi-row INSERT (SQLite allows 999 bound variables; an attempt has 6). */
const INSERT_CHUNK = 150;

/** Batches attempt outcomes into shared transactions. */
export class AttemptRecorder {
  private queue: Queued[] = [];
  private writing: Promise<void> | undefined;

  constructor(private readonly db: Knex) {}

  /**
   * Records one outcome; resolves once committed, with false when the lease
   * had been lost (another worker took the delivery over; the attempt is
   * still recorded, the delivery left to that worker).
   */
  record(record: AttemptRecord): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      this.writing ??= this.drain();
    });
  }

  /** Resolves when everything queued so far is written. */
  async idle(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    // Let outcomes finishing in the same tick join the first batch.
    await new Promise((r) => setImmediate(r));
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      try {
        const applied = await this.write(batch.map((q) => q.record));
        batch.forEach((q, i) => q.resolve(applied[i]));
      } catch (err) {
        batch.forEach((q) => q.reject(err));
      }
    }
    this.writing = undefined;
  }

  private async write(records: AttemptRecord[]): Promise<boolean[]> {
    return this.db.transaction(async (trx) => {
      const rows = records.map((r) => ({ delivery_id: r.deliveryId, ...r.attempt }));
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) await trx("webhook_attempts").insert(rows.slice(i, i + INSERT_CHUNK));
      const applied: boolean[] = [];
      const decrements = new Map<string, number>();
      for (const r of records) {
        const changed = await trx("webhook_deliveries").where({ id: r.deliveryId, lease_owner: r.leaseToken }).update(r.update);
        applied.push(changed > 0);
        if (changed > 0 && r.decrementPending) decrements.set(r.eventId, (decrements.get(r.eventId) ?? 0) + 1);
      }
      // Group by amount: an event can succeed at two endpoints in one batch.
      const byAmount = new Map<number, string[]>();
      for (const [eventId, n] of decrements) byAmount.set(n, [...(byAmount.get(n) ?? []), eventId]);
      for (const [n, ids] of byAmount) {
        await trx("events").whereIn("id", ids).update({ pending_webhooks: trx.raw("case when pending_webhooks >= ? then pending_webhooks - ? else 0 end", [n, n]) });
      }
      return applied;
    });
  }
}
