// The delivery worker. It claims due deliveries from the database with a
// lease (a conditional UPDATE, so two processes sharing a database never
// hold the same delivery at once), sends each one, and records the outcome.
// A process that dies mid-delivery leaves a lease that expires, after which
// any worker retries it: at-least-once, nothing lost across restarts.
import type { Knex } from "knex";
import type { CoreDeps } from "../deps";
import { randomToken } from "../domain/ids";
import { onEventsCommitted } from "../events/bus";
import { pruneEvents } from "../events/retention";
import { webhookConfig, type WebhookConfig } from "./config";
import { endpointLimiter, loadJobs, runJob, type DeliveryEnv, type DeliveryJob } from "./deliver";
import type { DeliveryRow } from "./mapper";
import { AttemptRecorder } from "./recorder";
import { webhookSecretKey } from "./secrets";

/** A running worker. */
export interface WebhookWorker {
  /** Stops claiming, waits for the deliveries in flight, and returns. */
  stop(): Promise<void>;
}

/** Options beyond the environment (tests). */
export interface WorkerOptions {
  config?: Partial<WebhookConfig>;
  /** Identifies this worker in leases. Default: random. */
  owner?: string;
}

const PRUNE_EVERY_MS = 60 * 60 * 1000;

/** The environment a delivery needs, from the core's deps. */
export function deliveryEnv(deps: CoreDeps, config: WebhookConfig = webhookConfig()): DeliveryEnv {
  return {
    db: deps.db,
    config,
    secretKey: webhookSecretKey(process.env, deps.settings.fingerprintSecret),
    limiter: sharedLimiter(config.ratePerMinute),
    recorder: new AttemptRecorder(deps.db),
  };
}

// One limiter per process and rate, so the worker and the resend API count
// against the same per-endpoint budget.
const limiters = new Map<number, ReturnType<typeof endpointLimiter>>();
function sharedLimiter(rate: number) {
  let limiter = limiters.get(rate);
  if (!limiter) limiters.set(rate, (limiter = endpointLimiter(rate)));
  return limiter;
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

/** Starts the delivery worker of this process. */
export function startWebhookWorker(deps: CoreDeps, options: WorkerOptions = {}): WebhookWorker {
  const config = webhookConfig(process.env, options.config);
  const env = deliveryEnv(deps, config);
  const { db } = deps;
  const owner = options.owner ?? `wkr_${randomToken(12)}`;
  let claims = 0;
  let stopped = false;
  const inFlight = new Set<Promise<void>>();
  const perEndpoint = new Map<string, number>();

  // `dirty` is set by any wake-up that arrives while the loop is busy, so a
  // commit between a claim and the wait is never slept through.
  let dirty = true;
  let wake: (() => void) | undefined;
  const poke = () => {
    dirty = true;
    wake?.();
  };
  const unsubscribe = onEventsCommitted((s) => {
    if (s.deliveries) poke();
  });

  /** Endpoints with all their slots of this process in use. */
  const saturated = () => [...perEndpoint].filter(([, n]) => n >= config.endpointConcurrency).map(([id]) => id);

  async function claim(free: number): Promise<DeliveryJob[]> {
    const now = Date.now();
    const full = saturated();
    let q = leaseFree(db("webhook_deliveries").select("id", "webhook_endpoint_id").where({ status: "pending" }).where("next_attempt_ms", "<=", now), now);
    if (full.length > 0) q = q.whereNotIn("webhook_endpoint_id", full);
    const candidates = (await q.orderBy("next_attempt_ms", "asc").limit(free * 2)) as Array<{ id: string; webhook_endpoint_id: string }>;
    // Take at most the endpoint's free slots, so one slow endpoint cannot
    // fill the process's slots and hold up everyone else.
    const counts = new Map(perEndpoint);
    const picked: string[] = [];
    for (const c of candidates) {
      const n = counts.get(c.webhook_endpoint_id) ?? 0;
      if (n >= config.endpointConcurrency) continue;
      counts.set(c.webhook_endpoint_id, n + 1);
      picked.push(c.id);
      if (picked.length === free) break;
    }
    return loadJobs(db, await leaseDeliveries(db, picked, `${owner}:${++claims}`, config.leaseMs, true));
  }

  function start(job: DeliveryJob): void {
    const endpointId = job.delivery.webhook_endpoint_id;
    perEndpoint.set(endpointId, (perEndpoint.get(endpointId) ?? 0) + 1);
    const task = runJob(env, job)
      .catch((err: unknown) => {
        // The lease expires and another attempt follows; nothing is lost.
        console.error(`webhook delivery ${job.delivery.id} errored: ${(err as Error).message}`);
      })
      .then(() => {
        inFlight.delete(task);
        const n = (perEndpoint.get(endpointId) ?? 1) - 1;
        if (n === 0) perEndpoint.delete(endpointId);
        else perEndpoint.set(endpointId, n);
        poke();
      });
    inFlight.add(task);
  }

  /** When the next delivery falls due (ms), or undefined if none is scheduled. */
  async function nextDue(): Promise<number | undefined> {
    // Saturated endpoints are left out: a finishing delivery wakes the loop for them.
    let q = leaseFree(db("webhook_deliveries").where({ status: "pending" }), Date.now());
    const full = saturated();
    if (full.length > 0) q = q.whereNotIn("webhook_endpoint_id", full);
    const row = (await q.min({ due: "next_attempt_ms" }).first()) as
      | { due: number | string | null }
      | undefined;
    return row?.due == null ? undefined : Number(row.due);
  }

  let lastPrune = 0;
  const loop = (async () => {
    while (!stopped) {
      try {
        dirty = false;
        if (Date.now() - lastPrune > PRUNE_EVERY_MS) {
          lastPrune = Date.now();
          await pruneEvents(db, config.retentionDays);
        }
        const free = config.concurrency - inFlight.size;
        const claimed = free > 0 ? await claim(free) : [];
        for (const job of claimed) start(job);
        if (claimed.length > 0 || dirty) continue;
        let waitMs = config.pollMs;
        if (free > 0) {
          const due = await nextDue();
          if (due !== undefined) waitMs = Math.min(waitMs, Math.max(20, due - Date.now()));
        }
        if (dirty || stopped) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, waitMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      } catch (err) {
        if (stopped) break;
        console.error(`webhook worker: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, config.pollMs));
      }
    }
  })();

  return {
    async stop() {
      stopped = true;
      unsubscribe();
      wake?.();
      await loop;
      await Promise.all([...inFlight]);
      await env.recorder.idle();
    },
  };
}
