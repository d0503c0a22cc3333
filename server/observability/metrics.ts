// Prometheus metrics of the process (prom-client), served as text at
// /metrics. One registry per process, as Prometheus scrapes processes: every
// core in a process adds to the same series. Other parts report through the
// functions below and never touch prom-client themselves.
import type { Knex } from "knex";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** The process's metric registry. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const requests = new Counter({
  name: "payment_api_requests_total",
  help: "API calls, by gRPC method and HTTP status equivalent.",
  labelNames: ["method", "status_code"] as const,
  registers: [registry],
});

const requestDuration = new Histogram({
  name: "payment_api_request_duration_seconds",
  help: "Time the core spent on an API call, by gRPC method and HTTP status equivalent.",
  labelNames: ["method", "status_code"] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

const paymentOutcomes = new Counter({
  name: "payment_outcomes_total",
  help: "Payment attempts by resulting status and decline code (\"\" when not declined).",
  labelNames: ["status", "decline_code"] as const,
  registers: [registry],
});

const webhookAttempts = new Counter({
  name: "webhook_delivery_attempts_total",
  help: "Webhook delivery attempts, by outcome (succeeded / failed).",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

const webhookFailures = new Counter({
  name: "webhook_delivery_failures_total",
  help: "Failed webhook delivery attempts, by reason (http_status / timeout / network / gave_up).",
  labelNames: ["reason"] as const,
  registers: [registry],
});

const webhookLag = new Histogram({
  name: "webhook_delivery_lag_seconds",
  help: "Seconds from an event's creation to a delivery attempt of it.",
  buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400],
  registers: [registry],
});

const rateLimitRejections = new Counter({
  name: "rate_limit_rejections_total",
  help: "Calls refused for exceeding a rate limit, by class.",
  labelNames: ["class"] as const,
  registers: [registry],
});

const pools = new Set<Knex>();
new Gauge({
  name: "db_pool_connections",
  help: "Database pool connections by state (used / free / pending acquires).",
  labelNames: ["state"] as const,
  registers: [registry],
  collect() {
    const sum = { used: 0, free: 0, pending: 0 };
    for (const db of pools) {
      const pool = (db.client as { pool?: TarnPool }).pool;
      if (!pool) continue;
      sum.used += pool.numUsed();
      sum.free += pool.numFree();
      sum.pending += pool.numPendingAcquires();
    }
    for (const [state, value] of Object.entries(sum)) this.set({ state }, value);
  },
});

interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}

/** Records one finished API call. */
export function recordRequest(method: string, statusCode: number, seconds: number): void {
  const labels = { method, status_code: String(statusCode) };
  requests.inc(labels);
  requestDuration.observe(labels, seconds);
}

/** Records a payment attempt's outcome (a PaymentIntent's status after confirm/capture, and the decline code if declined). */
export function recordPaymentOutcome(status: string, declineCode?: string): void {
  paymentOutcomes.inc({ status, decline_code: declineCode ?? "" });
}

/** Records a webhook delivery attempt: its outcome, why it failed, and how long after the event it ran. */
export function recordWebhookAttempt(attempt: { ok: boolean; lagSeconds: number; failureReason?: string }): void {
  webhookAttempts.inc({ outcome: attempt.ok ? "succeeded" : "failed" });
  if (!attempt.ok) webhookFailures.inc({ reason: attempt.failureReason ?? "http_status" });
  webhookLag.observe(Math.max(0, attempt.lagSeconds));
}

/** Records a call refused by the rate limiter. */
export function recordRateLimitRejection(rateClass: string): void {
  rateLimitRejections.inc({ class: rateClass });
}

/** Reports the pool of `db` in `db_pool_connections` until `unwatch` is called. */
export function watchDatabasePool(db: Knex): () => void {
  pools.add(db);
  return () => pools.delete(db);
}

/** The metrics in Prometheus text format, and their content type. */
export async function metricsText(): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}
