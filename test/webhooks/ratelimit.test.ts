// The per-endpoint delivery limit (the API design's 10000/minute) is one
// budget across every core process: createCore hands the worker the shared
// limiter of server/ratelimit, kept in Redis when REDIS_URL is set.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CustomerServiceClient } from "../../gen/payments/v1/customers";
import { WebhookEndpointServiceClient } from "../../gen/payments/v1/webhook_endpoints";
import { rateLimitConfigFromEnv, type RateLimitConfig } from "../../server/ratelimit/config";
import { createRateLimiting, type RateLimiting } from "../../server/ratelimit/limiter";
import { call } from "../support/grpc";
import { startTestCore, type TestCore } from "../support/core";
import { startReceiver, waitFor, type Receiver } from "./support";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

describe("shared webhook rate limit (Redis)", () => {
  const prefix = `test_webhooks_${randomBytes(6).toString("hex")}`;
  const config: RateLimitConfig = { ...rateLimitConfigFromEnv({}), redisUrl: REDIS_URL, keyPrefix: prefix, webhookDelivery: 3 };
  const logger = pino({ level: "silent" });
  let mine: RateLimiting;
  let otherProcess: RateLimiting;
  let core: TestCore;
  let receiver: Receiver;

  beforeAll(async () => {
    // Two connections to one Redis, as two core processes would have.
    mine = await createRateLimiting(logger, config);
    otherProcess = await createRateLimiting(logger, config);
    expect(mine.store.backend).toBe("redis");
    expect(mine.store.degraded).toBe(false);
    core = await startTestCore({ webhookLimiter: mine.webhooks, webhookWorker: { config: { pollMs: 100 } } });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await core?.close();
    await receiver?.close();
    await mine?.close();
    await otherProcess?.close();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it("the worker spends the budget another process spends, and postpones past it", async () => {
    const endpoints = core.client(WebhookEndpointServiceClient);
    const customers = core.client(CustomerServiceClient);
    const md = core.metadata(core.keys.secret);
    const ep = (await call(endpoints, "createWebhookEndpoint", { url: receiver.url, enabled_events: ["customer.created"], metadata: {} }, md)).value!.webhook_endpoint!;

    // Another process delivers twice to this endpoint: one of the 3 per window is left.
    expect((await otherProcess.webhooks.take(ep.id)).allowed).toBe(true);
    expect((await otherProcess.webhooks.take(ep.id)).allowed).toBe(true);

    for (let i = 0; i < 3; i++) expect((await call(customers, "createCustomer", { metadata: {} }, md)).error).toBeUndefined();
    const startedMs = Date.now();
    const settled = await waitFor(async () => {
      const list = (await call(endpoints, "listWebhookDeliveries", { webhook_endpoint: ep.id, event: "", limit: 10 }, md)).value!.data;
      const sent = list.filter((d) => d.status === "succeeded");
      // Postponed without an attempt to the end of the window (about 60 s away).
      const held = list.filter((d) => d.status === "pending" && d.attempts.length === 0 && d.next_attempt_at! * 1000 > startedMs + 30_000);
      return sent.length === 1 && held.length === 2 ? list : undefined;
    });
    expect(settled).toHaveLength(3);
    expect(receiver.received).toHaveLength(1);

    // And the other process sees the worker's delivery in the shared budget.
    const refused = await otherProcess.webhooks.take(ep.id);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(30_000);
  });
});
