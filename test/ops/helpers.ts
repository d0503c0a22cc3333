// Shared pieces of the ops tests: a log file to scan, rate-limit config with
// small limits, and Redis key clean-up by prefix.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { createLogger } from "../../server/observability/logger";
import { rateLimitConfigFromEnv, type RateLimitConfig } from "../../server/ratelimit/config";

/** The Redis every test run uses, with its own key prefix. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** A logger writing to a fresh temporary file, and a reader of its JSON lines. */
export function fileLogger() {
  const dir = mkdtempSync(join(tmpdir(), "payments-ops-"));
  const file = join(dir, "log.jsonl");
  return {
    dir,
    file,
    logger: createLogger({ level: "info", file }),
    lines(): Array<Record<string, any>> {
      if (!existsSync(file)) return [];
      return readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    },
  };
}

/** A unique Redis key prefix for one test. */
export function testPrefix(): string {
  return `test:ops:${randomBytes(6).toString("hex")}`;
}

/** Rate-limit config with small limits (and any overrides). */
export function smallLimits(overrides: Partial<RateLimitConfig> = {}): RateLimitConfig {
  return {
    ...rateLimitConfigFromEnv({}),
    limits: { default: 5, payment_creation: 3 },
    keyPrefix: testPrefix(),
    ...overrides,
  };
}

/** Deletes every Redis key under `prefix`. */
export async function deleteRedisKeys(prefix: string): Promise<number> {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
      cursor = next;
      if (keys.length) deleted += await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** Counts the Redis keys under `prefix`. */
export async function countRedisKeys(prefix: string): Promise<number> {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true });
  await redis.connect();
  try {
    return (await redis.keys(`${prefix}:*`)).length;
  } finally {
    redis.disconnect();
  }
}
