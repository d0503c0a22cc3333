// Where rate-limit counters live. One process: RateLimiterMemory. With
// REDIS_URL: RateLimiterRedis, so every core process spends one shared budget,
// each limiter insured by a per-process RateLimiterMemory that answers while
// Redis is unreachable. Falling back is logged once per outage: requests are
// neither let through unmetered nor all refused.
import { Redis } from "ioredis";
import type { Logger } from "pino";
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract, type RateLimiterRes } from "rate-limiter-flexible";
import type { RateLimitConfig } from "./config";

/** Limiters by name and budget, over one backend. */
export interface LimiterStore {
  /** "memory" or "redis". */
  readonly backend: "memory" | "redis";
  /** True while Redis is unreachable and the per-process insurance limiters answer. */
  readonly degraded: boolean;
  /**
   * The limiter for `name` (a rate class, `webhook_delivery`) with `points` per
   * window. Limiters of one name share their counters' keys, so changing a
   * merchant's limit keeps what it has spent.
   */
  limiter(name: string, points: number): RateLimiterAbstract;
  close(): Promise<void>;
}

/** Opens the configured backend; with Redis, waits (bounded) for the connection. */
export async function openLimiterStore(config: RateLimitConfig, logger: Logger): Promise<LimiterStore> {
  return config.redisUrl ? openRedisStore(config, config.redisUrl, logger) : memoryStore(config);
}

/** Counters in this process only (one core process, or a default for parts built without the shared store). */
export function memoryStore(config: RateLimitConfig): LimiterStore {
  const limiters = new Map<string, RateLimiterAbstract>();
  return {
    backend: "memory",
    degraded: false,
    limiter(name, points) {
      const id = `${name}:${points}`;
      let limiter = limiters.get(id);
      if (!limiter) {
        limiter = new RateLimiterMemory({ points, duration: config.windowSeconds, keyPrefix: `${config.keyPrefix}:${name}` });
        limiters.set(id, limiter);
      }
      return limiter;
    },
    async close() {},
  };
}

async function openRedisStore(config: RateLimitConfig, url: string, logger: Logger): Promise<LimiterStore> {
  let degraded = false;
  let client: Redis;
  const fellBack = (reason: string) => {
    if (degraded) return;
    degraded = true;
    // A command that failed on a live connection (a timeout, say) ends no
    // outage that a reconnect would announce: report again a minute later at most.
    if (client?.status === "ready") setTimeout(() => (degraded = false), 60_000).unref();
    logger.error(
      { event: "rate_limiter_fallback", backend: "redis", reason },
      "Redis is unreachable: rate limits are enforced per process by the insurance limiter until it is back",
    );
  };
  client = new Redis(url, {
    // Fail commands at once while disconnected (the insurance limiter answers)
    // rather than queueing them and stalling every request.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: config.redisConnectTimeoutMs,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    lazyConnect: true,
  });
  client.on("error", (err: Error) => fellBack(err.message));
  client.on("ready", () => {
    if (!degraded) return;
    degraded = false;
    logger.warn({ event: "rate_limiter_recovered", backend: "redis" }, "Redis is reachable again: rate limits are shared again");
  });
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => setTimeout(() => reject(new Error("connect timeout")), config.redisConnectTimeoutMs).unref()),
    ]);
  } catch (err) {
    fellBack(err instanceof Error ? err.message : String(err));
  }

  const limiters = new Map<string, RateLimiterAbstract>();
  return {
    backend: "redis",
    get degraded() {
      return degraded;
    },
    limiter(name, points) {
      const id = `${name}:${points}`;
      let limiter = limiters.get(id);
      if (!limiter) {
        const keyPrefix = `${config.keyPrefix}:${name}`;
        const insurance = new InsuranceLimiter({ points, duration: config.windowSeconds, keyPrefix }, fellBack);
        limiter = new RateLimiterRedis({
          storeClient: client,
          points,
          duration: config.windowSeconds,
          keyPrefix,
          rejectIfRedisNotReady: true,
          insuranceLimiter: insurance,
        });
        limiters.set(id, limiter);
      }
      return limiter;
    },
    async close() {
      client.disconnect();
    },
  };
}

/** A memory limiter that reports that it had to stand in for Redis. */
class InsuranceLimiter extends RateLimiterMemory {
  constructor(
    opts: ConstructorParameters<typeof RateLimiterMemory>[0],
    private readonly onUse: (reason: string) => void,
  ) {
    super(opts);
  }

  override consume(key: string | number, points?: number, options?: Record<string, unknown>): Promise<RateLimiterRes> {
    this.onUse("a Redis command failed");
    return super.consume(key, points, options);
  }
}
