// The pipeline's rate limiter: one budget per API key and rate class
// (`default`, `payment_creation`), as the API design sets them. Every answer
// carries the remaining budget as headers (initial metadata, HTTP headers
// through the gateway); a refusal adds `retry-after`.
import type { Logger } from "pino";
import { RateLimiterRes } from "rate-limiter-flexible";
import type { MethodInfo } from "../methods";
import type { RateLimiter } from "../pipeline/pipeline";
import type { Caller, RateClass, ResponseHeaders } from "../pipeline/types";
import { recordRateLimitRejection } from "../observability/metrics";
import { rateLimitConfigFromEnv, type RateLimitConfig } from "./config";
import { openLimiterStore, type LimiterStore } from "./store";

/** Headers of a limiter verdict: limit, remaining and reset (seconds), plus retry-after when refused. */
export function rateLimitHeaders(limit: number, res: RateLimiterRes, refused: boolean): ResponseHeaders {
  const reset = String(Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
  const headers: ResponseHeaders = {
    "ratelimit-limit": String(limit),
    "ratelimit-remaining": String(refused ? 0 : res.remainingPoints),
    "ratelimit-reset": reset,
  };
  if (refused) headers["retry-after"] = reset;
  return headers;
}

/** Per-API-key limits by rate class; a merchant's own limits win over the configured ones. */
export class ApiRateLimiter implements RateLimiter {
  constructor(
    private readonly store: LimiterStore,
    private readonly limits: Record<RateClass, number>,
  ) {}

  /** The budget that applies to `caller` for `rateClass`. */
  limitFor(caller: Caller, rateClass: RateClass): number {
    const own = caller.rateLimits?.[rateClass];
    return own !== undefined && Number.isInteger(own) && own > 0 ? own : this.limits[rateClass];
  }

  async consume(caller: Caller, method: MethodInfo): Promise<{ allowed: boolean; headers: ResponseHeaders }> {
    const limit = this.limitFor(caller, method.rateClass);
    // The key record's id, never the key itself, names the budget in Redis.
    try {
      const res = await this.store.limiter(method.rateClass, limit).consume(caller.keyId);
      return { allowed: true, headers: rateLimitHeaders(limit, res, false) };
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      recordRateLimitRejection(method.rateClass);
      return { allowed: false, headers: rateLimitHeaders(limit, err, true) };
    }
  }
}

/** What the webhook worker asks before delivering to an endpoint. */
export interface EndpointLimiter {
  /** Spends one delivery of `endpointId`'s budget; when refused, `retryAfterMs` says when to try again. */
  take(endpointId: string): Promise<{ allowed: boolean; retryAfterMs: number }>;
}

/** Webhook deliveries per endpoint (the API design's 10000/minute unless configured). */
export function endpointLimiter(store: LimiterStore, perWindow: number): EndpointLimiter {
  const limiter = store.limiter("webhook_delivery", perWindow);
  return {
    async take(endpointId) {
      try {
        await limiter.consume(endpointId);
        return { allowed: true, retryAfterMs: 0 };
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) throw err;
        recordRateLimitRejection("webhook_delivery");
        return { allowed: false, retryAfterMs: err.msBeforeNext };
      }
    },
  };
}

/** Everything rate limiting builds for one core. */
export interface RateLimiting {
  /** For PipelineOptions.rateLimiter. */
  limiter: ApiRateLimiter;
  /** For the webhook delivery worker. */
  webhooks: EndpointLimiter;
  store: LimiterStore;
  config: RateLimitConfig;
  close(): Promise<void>;
}

/** Builds the limiters from `config` (default: the environment). */
export async function createRateLimiting(logger: Logger, config: RateLimitConfig = rateLimitConfigFromEnv()): Promise<RateLimiting> {
  const store = await openLimiterStore(config, logger);
  return {
    limiter: new ApiRateLimiter(store, config.limits),
    webhooks: endpointLimiter(store, config.webhookDelivery),
    store,
    config,
    close: () => store.close(),
  };
}
