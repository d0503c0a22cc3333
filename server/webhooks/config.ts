// Delivery settings, from the environment (read once when the worker starts).
//   WEBHOOK_SECRET_KEY              encryption key of signing secrets (server/webhooks/secrets.ts)
//   WEBHOOK_RETRY_SCHEDULE_LIVE     delays between live-mode attempts, seconds, comma-separated
//   WEBHOOK_RETRY_SCHEDULE_TEST     the same for test mode (short by default)
//   WEBHOOK_TIMEOUT_MS              how long a receiver has to answer 2xx (default 10000)
//   WEBHOOK_POLL_MS                 how often an idle worker looks for due deliveries (default 1000)
//   WEBHOOK_LEASE_MS                how long a claimed delivery is reserved for its worker (default 60000)
//   WEBHOOK_CONCURRENCY             deliveries in flight per process (default 256)
//   WEBHOOK_ENDPOINT_CONCURRENCY    deliveries in flight per endpoint per process (default 32)
//   RATE_LIMIT_WEBHOOK_DELIVERY     per-endpoint deliveries per window (default 10000, the API design's;
//                                   read by server/ratelimit, whose shared limiter createCore passes the worker)
//   EVENT_RETENTION_DAYS            how long events are kept (default and minimum 30)

/**
 * Live mode: 15 retries after the first attempt (16 attempts), growing from
 * a minute to twelve hours, about 2.8 days in all (3 with jitter at its top).
 */
export const LIVE_SCHEDULE_SECONDS = [60, 300, 900, 1800, 3600, 7200, 10800, 14400, 18000, 21600, 25200, 28800, 32400, 36000, 43200];

/** Test mode: 7 attempts within about 80 minutes, so developers see the end state the same day. */
export const TEST_SCHEDULE_SECONDS = [5, 15, 60, 300, 900, 3600];

/** The worker's settings. */
export interface WebhookConfig {
  liveSchedule: number[];
  testSchedule: number[];
  timeoutMs: number;
  pollMs: number;
  leaseMs: number;
  concurrency: number;
  endpointConcurrency: number;
  /** Per-endpoint budget of the worker's default (per-process) limiter, used when no shared limiter is given. */
  ratePerMinute: number;
  retentionDays: number;
}

function schedule(env: NodeJS.ProcessEnv, name: string, fallback: number[]): number[] {
  const raw = env[name];
  if (!raw) return fallback;
  const values = raw.split(",").map((s) => Number(s.trim()));
  if (values.some((v) => !Number.isFinite(v) || v < 0)) throw new Error(`${name} must be comma-separated non-negative seconds, got '${raw}'`);
  return values;
}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1): number {
  const raw = env[name];
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got '${raw}'`);
  return n;
}

/** Reads the webhook settings from `env`, with `overrides` on top (tests). */
export function webhookConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<WebhookConfig> = {}): WebhookConfig {
  return {
    liveSchedule: schedule(env, "WEBHOOK_RETRY_SCHEDULE_LIVE", LIVE_SCHEDULE_SECONDS),
    testSchedule: schedule(env, "WEBHOOK_RETRY_SCHEDULE_TEST", TEST_SCHEDULE_SECONDS),
    timeoutMs: positive(env, "WEBHOOK_TIMEOUT_MS", 10_000),
    pollMs: positive(env, "WEBHOOK_POLL_MS", 1000),
    leaseMs: positive(env, "WEBHOOK_LEASE_MS", 60_000),
    concurrency: positive(env, "WEBHOOK_CONCURRENCY", 256),
    endpointConcurrency: positive(env, "WEBHOOK_ENDPOINT_CONCURRENCY", 32),
    ratePerMinute: positive(env, "RATE_LIMIT_WEBHOOK_DELIVERY", 10_000),
    retentionDays: positive(env, "EVENT_RETENTION_DAYS", 30, 30),
    ...overrides,
  };
}

/**
 * Milliseconds to wait after failed attempt number `attempt` (1-based), or
 * undefined when the schedule is exhausted. Exponential growth comes from
 * the schedule; jitter (±20 %) spreads retries of many deliveries that
 * failed together so they do not hit the receiver at the same instant.
 */
export function retryDelayMs(schedule: readonly number[], attempt: number, random = Math.random): number | undefined {
  const base = schedule[attempt - 1];
  if (base === undefined) return undefined;
  return Math.round(base * 1000 * (0.8 + 0.4 * random()));
}
