// Rate limits over gRPC on a real core: per API key and class, headers on
// every answer, the 429-equivalent refusal, per-merchant overrides, a budget
// shared through Redis by two cores, and the insurance limiter when Redis is
// unreachable.
import net from "node:net";
import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EventServiceClient } from "../../gen/payments/v1/events";
import { PaymentIntentServiceClient } from "../../gen/payments/v1/payment_intents";
import { createMerchantWithKeys } from "../../server/merchants/service";
import { createRateLimiting, type RateLimiting } from "../../server/ratelimit/limiter";
import type { RateLimitConfig } from "../../server/ratelimit/config";
import { startTestCore, type TestCore } from "../support/core";
import { call } from "../support/grpc";
import { countRedisKeys, deleteRedisKeys, fileLogger, smallLimits, TEST_REDIS_URL } from "./helpers";

const log = fileLogger();
afterAll(() => log.remove());

async function coreWith(config: RateLimitConfig): Promise<{ core: TestCore; limiting: RateLimiting }> {
  const limiting = await createRateLimiting(log.logger, config);
  const core = await startTestCore({ rateLimiter: limiting.limiter });
  return { core, limiting };
}

function listEvents(core: TestCore, key: string) {
  return call(core.client(EventServiceClient), "listEvents", {}, core.metadata(key));
}

function getIntent(core: TestCore, key: string) {
  return call(core.client(PaymentIntentServiceClient), "getPaymentIntent", { id: "pi_missing" }, core.metadata(key));
}

describe("rate limits over gRPC (memory backend)", () => {
  let core: TestCore;
  let limiting: RateLimiting;

  beforeAll(async () => {
    ({ core, limiting } = await coreWith(smallLimits()));
  });
  afterAll(async () => {
    await core?.close();
    await limiting?.close();
  });

  it("counts down the default class in headers, then refuses with rate_limit_error and retry-after", async () => {
    for (let i = 0; i < 5; i++) {
      const out = await listEvents(core, core.keys.secret);
      expect(out.error?.code).not.toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(out.headers["ratelimit-limit"]).toBe("5");
      expect(out.headers["ratelimit-remaining"]).toBe(String(4 - i));
      expect(Number(out.headers["ratelimit-reset"])).toBeGreaterThanOrEqual(1);
      expect(Number(out.headers["ratelimit-reset"])).toBeLessThanOrEqual(60);
      expect(out.headers["retry-after"]).toBeUndefined();
    }
    const refused = await listEvents(core, core.keys.secret);
    expect(refused.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.detail).toMatchObject({ type: "rate_limit_error", code: "rate_limit" });
    expect(refused.detail?.request_id).toBe(refused.headers["request-id"]);
    expect(refused.headers["ratelimit-limit"]).toBe("5");
    expect(refused.headers["ratelimit-remaining"]).toBe("0");
    const retryAfter = Number(refused.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
  });

  it("keeps payment intent routes in their own class with their own limit", async () => {
    // The default class of this key is spent (previous test); payment_creation is not.
    for (let i = 0; i < 3; i++) {
      const out = await getIntent(core, core.keys.secret);
      expect(out.error?.code).not.toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(out.headers["ratelimit-limit"]).toBe("3");
      expect(out.headers["ratelimit-remaining"]).toBe(String(2 - i));
    }
    const refused = await getIntent(core, core.keys.secret);
    expect(refused.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.headers["ratelimit-limit"]).toBe("3");
    expect(refused.headers["retry-after"]).toBeDefined();
  });

  it("gives every API key its own budget", async () => {
    const out = await listEvents(core, core.keys.liveSecret);
    expect(out.error?.code).not.toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(out.headers["ratelimit-remaining"]).toBe("4");
    const other = await listEvents(core, core.otherMerchant.secret);
    expect(other.headers["ratelimit-remaining"]).toBe("4");
  });

  it("applies a merchant's own limits over the configured ones", async () => {
    const { keys } = await createMerchantWithKeys(core.deps.db, { name: "Small Merchant", rateLimits: { default: 2, payment_creation: 1 }, live: false });
    const first = await listEvents(core, keys.secret.key);
    expect(first.headers["ratelimit-limit"]).toBe("2");
    expect(first.headers["ratelimit-remaining"]).toBe("1");
    await listEvents(core, keys.secret.key);
    expect((await listEvents(core, keys.secret.key)).error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);

    expect((await getIntent(core, keys.secret.key)).headers["ratelimit-limit"]).toBe("1");
    const refused = await getIntent(core, keys.secret.key);
    expect(refused.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.detail?.type).toBe("rate_limit_error");
  });

  it("does not limit unauthenticated calls before auth (they fail auth, no budget headers)", async () => {
    const out = await listEvents(core, "sk_test_doesnotexist");
    expect(out.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(out.headers["ratelimit-limit"]).toBeUndefined();
  });
});

describe("rate limits through Redis", () => {
  const prefixes: string[] = [];
  afterEach(async () => {
    for (const prefix of prefixes.splice(0)) await deleteRedisKeys(prefix);
  });

  it("two cores on one database share one budget per key", async () => {
    const config = smallLimits({ redisUrl: TEST_REDIS_URL });
    prefixes.push(config.keyPrefix);
    const a = await coreWith(config);
    // The second core reaches the same merchants through its own database
    // connection: same file, its own pipeline, limiter and Redis client.
    const limitingB = await createRateLimiting(log.logger, config);
    try {
      expect(a.limiting.store.backend).toBe("redis");
      expect(limitingB.store.degraded).toBe(false);
      const { createCore } = await import("../../server/app");
      const file = (a.core.deps.db.client.config.connection as { filename: string }).filename;
      const b = await createCore({ databaseUrl: `sqlite://${file}`, grpcPort: 0, grpcHost: "127.0.0.1", rateLimiter: limitingB.limiter });
      try {
        const clientB = new EventServiceClient(`127.0.0.1:${b.grpcPort}`, grpc.credentials.createInsecure());
        const remaining: string[] = [];
        for (let i = 0; i < 5; i++) {
          const out =
            i % 2 === 0 ? await listEvents(a.core, a.core.keys.secret) : await call(clientB, "listEvents", {}, a.core.metadata(a.core.keys.secret));
          expect(out.error?.code).not.toBe(grpc.status.RESOURCE_EXHAUSTED);
          remaining.push(out.headers["ratelimit-remaining"]);
        }
        expect(remaining).toEqual(["4", "3", "2", "1", "0"]);
        const refusedB = await call(clientB, "listEvents", {}, a.core.metadata(a.core.keys.secret));
        expect(refusedB.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
        const refusedA = await listEvents(a.core, a.core.keys.secret);
        expect(refusedA.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
        expect(await countRedisKeys(config.keyPrefix)).toBeGreaterThan(0);
        clientB.close();
      } finally {
        await b.close();
      }
    } finally {
      await a.core.close();
      await a.limiting.close();
      await limitingB.close();
    }
  });

  it("survives Redis going away mid-run: insurance limiter, logged once, shared again once Redis is back", async () => {
    // A TCP proxy in front of the real Redis that the test can cut and restore.
    const sockets = new Set<net.Socket>();
    const redisPort = Number(new URL(TEST_REDIS_URL).port || 6379);
    const proxy = net.createServer((client) => {
      const upstream = net.connect(redisPort, new URL(TEST_REDIS_URL).hostname);
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = () => (client.destroy(), upstream.destroy());
      client.on("error", drop).on("close", drop);
      upstream.on("error", drop).on("close", drop);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const proxyPort = (proxy.address() as net.AddressInfo).port;
    const config = smallLimits({ redisUrl: `redis://127.0.0.1:${proxyPort}`, limits: { default: 100, payment_creation: 100 } });
    prefixes.push(config.keyPrefix);
    const { core, limiting } = await coreWith(config);
    const fallbacksBefore = log.lines().filter((l) => l.event === "rate_limiter_fallback").length;
    try {
      expect(limiting.store.degraded).toBe(false);
      expect((await listEvents(core, core.keys.secret)).headers["ratelimit-remaining"]).toBe("99");

      // Outage: stop accepting and cut every open connection.
      await new Promise<void>((resolve) => {
        proxy.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      for (let i = 0; i < 5; i++) {
        const out = await listEvents(core, core.keys.secret);
        expect(out.error?.code).not.toBe(grpc.status.RESOURCE_EXHAUSTED);
        // Served and metered by the insurance limiter (its own count, from the top).
        expect(out.headers["ratelimit-limit"]).toBe("100");
        expect(Number(out.headers["ratelimit-remaining"])).toBeLessThan(100);
      }
      expect(limiting.store.degraded).toBe(true);
      const fallbacks = log.lines().filter((l) => l.event === "rate_limiter_fallback");
      expect(fallbacks.length - fallbacksBefore).toBe(1);

      // Redis back on the same port: the client reconnects and the shared count resumes.
      await new Promise<void>((resolve) => proxy.listen(proxyPort, "127.0.0.1", resolve));
      const deadline = Date.now() + 10_000;
      while (limiting.store.degraded) {
        if (Date.now() > deadline) throw new Error("the limiter did not reconnect to Redis");
        await new Promise((r) => setTimeout(r, 50));
      }
      expect((await listEvents(core, core.keys.secret)).headers["ratelimit-remaining"]).toBe("98");
      expect(log.lines().some((l) => l.event === "rate_limiter_recovered")).toBe(true);
    } finally {
      await core.close();
      await limiting.close();
      proxy.close();
      for (const s of sockets) s.destroy();
    }
  });

  it("falls back to the per-process insurance limiter when Redis is unreachable, and logs it once", async () => {
    // Port 1: nothing listens, so every connection attempt is refused.
    const config = smallLimits({ redisUrl: "redis://127.0.0.1:1", redisConnectTimeoutMs: 500 });
    const fallbacksBefore = log.lines().filter((l) => l.event === "rate_limiter_fallback").length;
    const { core, limiting } = await coreWith(config);
    try {
      expect(limiting.store.degraded).toBe(true);
      for (let i = 0; i < 5; i++) {
        const out = await listEvents(core, core.keys.secret);
        expect(out.error?.code).not.toBe(grpc.status.RESOURCE_EXHAUSTED);
        expect(out.headers["ratelimit-remaining"]).toBe(String(4 - i));
      }
      // Still limited (not failing open) ...
      const refused = await listEvents(core, core.keys.secret);
      expect(refused.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      // ... and other keys still served (not failing every request).
      expect((await listEvents(core, core.otherMerchant.secret)).error?.code).not.toBe(grpc.status.RESOURCE_EXHAUSTED);
      const fallbacks = log.lines().filter((l) => l.event === "rate_limiter_fallback").slice(fallbacksBefore);
      expect(fallbacks).toHaveLength(1);
      expect(fallbacks[0].level).toBe("error");
    } finally {
      await core.close();
      await limiting.close();
    }
  });
});
