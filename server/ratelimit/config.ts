// Rate-limit settings: the API design's limits, overridable globally from the
// environment. Per-merchant overrides arrive on the caller (Caller.rateLimits),
// filled by auth from the merchants table, and win over these.
import type { RateClass } from "../pipeline/types";

/** The API design's limits, requests per minute. */
export const SPEC_LIMITS = {
  default: 1000,
  payment_creation: 100,
  webhook_delivery: 10000,
} as const;

/** How the limiter is configured. */
export interface RateLimitConfig {
  /** Requests per window per API key, by class (`RATE_LIMIT_DEFAULT`, `RATE_LIMIT_PAYMENT_CREATION`). */
  limits: Record<RateClass, number>;
  /** Webhook deliveries per window per endpoint (`RATE_LIMIT_WEBHOOK_DELIVERY`). */
  webhookDelivery: number;
  /** Window length in seconds (`RATE_LIMIT_WINDOW_SECONDS`, default 60: the spec's limits are per minute). */
  windowSeconds: number;
  /** `REDIS_URL`: when set, every core process shares one budget in Redis. */
  redisUrl?: string;
  /** Prefix of every Redis key (`RATE_LIMIT_KEY_PREFIX`, default `ratelimit`); tests use their own. */
  keyPrefix: string;
  /** How long start-up waits for Redis before serving from the per-process insurance limiter (ms). */
  redisConnectTimeoutMs: number;
}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${raw}'`);
  return n;
}

/** Reads the rate-limit settings from `env` (default: process.env); throws on invalid values. */
export function rateLimitConfigFromEnv(env: NodeJS.ProcessEnv = process.env): RateLimitConfig {
  return {
    limits: {
      default: positive(env, "RATE_LIMIT_DEFAULT", SPEC_LIMITS.default),
      payment_creation: positive(env, "RATE_LIMIT_PAYMENT_CREATION", SPEC_LIMITS.payment_creation),
    },
    webhookDelivery: positive(env, "RATE_LIMIT_WEBHOOK_DELIVERY", SPEC_LIMITS.webhook_delivery),
    windowSeconds: positive(env, "RATE_LIMIT_WINDOW_SECONDS", 60),
    redisUrl: env.REDIS_URL || undefined,
    keyPrefix: env.RATE_LIMIT_KEY_PREFIX || "ratelimit",
    redisConnectTimeoutMs: positive(env, "RATE_LIMIT_REDIS_CONNECT_TIMEOUT_MS", 2000),
  };
}
