// The delivery worker. It claims due deliveries from the database with a
// lease (a conditional UPDATE, so two processes sharing a database never
// hold the same delivery at once), sends each one, and records the outcome.
// A process that dies mid-delivery leaves a lease that expires, after which
// any worker retries it: at-least-once, nothing lost across restarts.
import type { Knex } from "knex";
import type { CoreDeps } from "../deps";
import { endpointLimiter as storeEndpointLimiter, type EndpointLimiter } from "../ratelimit/limiter";
import { rateLimitConfigFromEnv } from "../ratelimit/config";
import { memoryStore } from "../ratelimit/store";
import { randomToken } from "../domain/ids";
import { onEventsCommitted } from "../events/bus";
import { pruneEvents } from "../events/retention";
import { webhookConfig, type WebhookConfig } from "./config";
import { loadJobs, runJob, type DeliveryEnv, type DeliveryJob } from "./deliver";
import { AttemptRecorder } from "./recorder";
import { webhookSecretKey } from "./secrets";
import { dueDeliveries, leaseDeliveries, nextDueMs } from "./store";

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
  /**
   * The per-endpoint delivery limiter. createCore passes the shared one
   * (server/ratelimit: in Redis with REDIS_URL, so every core process spends
   * one budget per endpoint). Default: this process's memory limiter.
   */
  limiter?: EndpointLimiter;
}

const PRUNE_EVERY_MS = 60 * 60 * 1000;

/** The environment a delivery needs, from the core's deps. */
export function deliveryEnv(deps: CoreDeps, config: WebhookConfig = webhookConfig(), limiter?: EndpointLimiter): DeliveryEnv {
  return {
    db: deps.db,
    config,
    secretKey: webhookSecretKey(process.env, deps.settings.fingerprintSecret),
    limiter: limiter ?? coreLimiters.get(deps.db) ?? processLimiter(config.ratePerMinute),
    recorder: new AttemptRecorder(deps.db),
  };
}

// The limiter a core's worker was given, by the core's database handle, so
// the resend API (built from the same deps) spends the same budget.
const coreLimiters = new WeakMap<Knex, EndpointLimiter>();

// Without a shared limiter: one memory limiter per process and rate, so the
// worker and the resend API still count against one per-endpoint budget.
const memoryLimiters = new Map<number, EndpointLimiter>();
function processLimiter(rate: number): EndpointLimiter {
  let limiter = memoryLimiters.get(rate);
  if (!limiter) memoryLimiters.set(rate, (limiter = storeEndpointLimiter(memoryStore(rateLimitConfigFromEnv()), rate)));
  return limiter;
}

/** Starts the delivery worker of this process. */
export function startWebhookWorker(deps: CoreDeps, options: WorkerOptions = {}): WebhookWorker {
  const config = webhookConfig(process.env, options.config);
  if (options.limiter) coreLimiters.set(deps.db, options.limiter);
  const env = deliveryEnv(deps, config, options.limiter);
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
    const candidates = await dueDeliveries(db, Date.now(), saturated(), free * 2);
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
    return nextDueMs(db, Date.now(), saturated());
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
      if (coreLimiters.get(db) === options.limiter) coreLimiters.delete(db);
    },
  };
}
