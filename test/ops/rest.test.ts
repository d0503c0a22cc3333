// Over REST through the Node gateway on a real core: rate limits as 429 with
// the API's error body and headers, the per-call log line with the API
// design's fields and levels, /healthz, /readyz and /metrics.
import type http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway } from "../../gateway/server";
import { healthRoutes } from "../../server/health/routes";
import { logGatewayReplies, observeCalls } from "../../server/observability/calls";
import { metricsRoute } from "../../server/observability/routes";
import { watchDatabasePool } from "../../server/observability/metrics";
import { createRateLimiting, type RateLimiting } from "../../server/ratelimit/limiter";
import { startTestCore, type TestCore } from "../support/core";
import { fileLogger, smallLimits } from "./helpers";

const log = fileLogger();
let core: TestCore;
let limiting: RateLimiting;
let gateway: http.Server;
let base: string;
let unwatchPool: () => void = () => undefined;

beforeAll(async () => {
  limiting = await createRateLimiting(log.logger, smallLimits());
  core = await startTestCore({ rateLimiter: limiting.limiter, onCall: observeCalls(log.logger) });
  unwatchPool = watchDatabasePool(core.deps.db);
  gateway = createGateway({
    dispatcher: core.pipeline,
    extraRoutes: [...healthRoutes(core.deps.db), metricsRoute()],
    onReply: logGatewayReplies(log.logger),
  });
  await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
});

afterAll(async () => {
  log.remove();
  unwatchPool();
  await new Promise((resolve) => gateway?.close(resolve));
  await core?.close();
  await limiting?.close();
});

function get(path: string, key: string, headers: Record<string, string> = {}) {
  return fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${key}`, "User-Agent": "ops-test/1.0", ...headers } });
}

describe("rate limits over REST", () => {
  it("sends RateLimit headers on every answer and 429 with the error body and Retry-After when over", async () => {
    for (let i = 0; i < 5; i++) {
      const res = await get("/v1/events", core.keys.secret);
      expect(res.status).not.toBe(429);
      expect(res.headers.get("ratelimit-limit")).toBe("5");
      expect(res.headers.get("ratelimit-remaining")).toBe(String(4 - i));
      expect(Number(res.headers.get("ratelimit-reset"))).toBeGreaterThanOrEqual(1);
      await res.arrayBuffer();
    }
    const res = await get("/v1/events", core.keys.secret);
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(res.headers.get("ratelimit-remaining")).toBe("0");
    const body = await res.json();
    expect(body).toEqual({
      error: {
        type: "rate_limit_error",
        code: "rate_limit",
        message: expect.any(String),
        request_id: res.headers.get("request-id"),
      },
    });
  });

  it("limits /v1/payment_intents routes in their own class", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await get("/v1/payment_intents/pi_missing", core.keys.secret);
      expect(res.headers.get("ratelimit-limit")).toBe("3");
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    expect(statuses.slice(0, 3)).not.toContain(429);
    expect(statuses[3]).toBe(429);
  });
});

describe("the request log", () => {
  it("writes one line per call with the API design's fields, warn for 4xx", async () => {
    const res = await get("/v1/events", core.otherMerchant.secret, { "X-Request-Id": "req_logtest_0001" });
    await res.arrayBuffer();
    const lines = log.lines().filter((l) => l.request_id === "req_logtest_0001");
    expect(lines).toHaveLength(1);
    const line = lines[0];
    expect(line).toMatchObject({
      method: "GET",
      path: "/v1/events",
      status_code: res.status,
      user_agent: "ops-test/1.0",
      api_key_prefix: core.otherMerchant.secret.slice(0, 12),
      request_id: "req_logtest_0001",
      grpc_method: "/payments.v1.EventService/ListEvents",
      merchant_id: core.otherMerchant.id,
    });
    expect(typeof line.timestamp).toBe("number");
    expect(Math.abs(line.timestamp - Date.now() / 1000)).toBeLessThan(60);
    expect(typeof line.processing_time_ms).toBe("number");
    expect(line.level).toBe(res.status >= 500 ? "error" : res.status >= 400 ? "warn" : "info");
    expect(JSON.stringify(line)).not.toContain(core.otherMerchant.secret);
  });

  it("logs a refused call at warn with status 429 and a bad key without the key", async () => {
    const bad = "sk_test_thisKeyDoesNotExist123456";
    const res = await get("/v1/customers", bad, { "X-Request-Id": "req_logtest_0002" });
    expect(res.status).toBe(401);
    await res.arrayBuffer();
    const [line] = log.lines().filter((l) => l.request_id === "req_logtest_0002");
    expect(line).toMatchObject({ level: "warn", status_code: 401, api_key_prefix: bad.slice(0, 12), merchant_id: null });
    expect(JSON.stringify(log.lines())).not.toContain(bad);

    const limited = log.lines().filter((l) => l.status_code === 429);
    expect(limited.length).toBeGreaterThanOrEqual(2);
    for (const l of limited) expect(l.level).toBe("warn");
  });
});

describe("the gateway's own replies", () => {
  it("get one log line each (unknown route, bad JSON), and core calls are not logged twice", async () => {
    const before = log.lines().length;
    const missing = await get("/v1/no_such_thing", core.keys.secret);
    expect(missing.status).toBe(404);
    await missing.arrayBuffer();
    const badJson = await fetch(`${base}/v1/customers`, {
      method: "POST",
      headers: { Authorization: `Bearer ${core.keys.secret}`, "Content-Type": "application/json" },
      body: "{not json",
    });
    expect(badJson.status).toBe(400);
    await badJson.arrayBuffer();
    const ok = await get("/v1/customers", core.otherMerchant.secret);
    await ok.arrayBuffer();

    // The server writes the line when the reply closes, which may be just after the client has read it.
    const ids = [missing, badJson, ok].map((r) => r.headers.get("request-id"));
    for (let tries = 0; !ids.every((id) => log.lines().some((l) => l.request_id === id)); tries++) {
      if (tries > 200) throw new Error("log lines not written");
      await new Promise((r) => setTimeout(r, 10));
    }
    const lines = log.lines().slice(before);
    const byId = (id: string | null) => lines.filter((l) => l.request_id === id);
    expect(byId(missing.headers.get("request-id"))).toEqual([
      expect.objectContaining({ level: "warn", method: "GET", path: "/v1/no_such_thing", status_code: 404, grpc_method: null, api_key_prefix: core.keys.secret.slice(0, 12) }),
    ]);
    expect(byId(badJson.headers.get("request-id"))).toEqual([expect.objectContaining({ method: "POST", path: "/v1/customers", status_code: 400 })]);
    expect(byId(ok.headers.get("request-id"))).toHaveLength(1);
    expect(JSON.stringify(lines)).not.toContain(core.keys.secret);
  });
});

describe("health and metrics routes", () => {
  it("/healthz is alive and /readyz checks the database and migrations", async () => {
    const alive = await fetch(`${base}/healthz`);
    expect(alive.status).toBe(200);
    expect(await alive.json()).toEqual({ status: "ok" });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", checks: { database: "ok", migrations: "ok" } });
  });

  it("/metrics serves Prometheus text with request counts and rate-limit rejections", async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/payment_api_requests_total\{method="\/payments\.v1\.EventService\/ListEvents",status_code="429"\} [1-9]/);
    expect(text).toMatch(/payment_api_request_duration_seconds_bucket\{le="[^"]+",method="\/payments\.v1\.EventService\/ListEvents"/);
    expect(text).toMatch(/rate_limit_rejections_total\{class="default"\} [1-9]/);
    expect(text).toMatch(/rate_limit_rejections_total\{class="payment_creation"\} [1-9]/);
    // The SQLite pool holds one connection, used or free.
    const used = Number(/^db_pool_connections\{state="used"\} (\d+)/m.exec(text)?.[1]);
    const free = Number(/^db_pool_connections\{state="free"\} (\d+)/m.exec(text)?.[1]);
    expect(used + free).toBeGreaterThanOrEqual(1);
  });
});

describe("/metrics behind METRICS_TOKEN", () => {
  const token = "metrics-token-for-tests-0123456789";
  let guarded: http.Server;
  let guardedBase: string;
  beforeAll(async () => {
    const saved = process.env.METRICS_TOKEN;
    process.env.METRICS_TOKEN = token;
    try {
      // As npm start builds it: metricsRoute() reads METRICS_TOKEN.
      guarded = createGateway({ dispatcher: core.pipeline, extraRoutes: [metricsRoute()], onReply: logGatewayReplies(log.logger) });
    } finally {
      if (saved === undefined) delete process.env.METRICS_TOKEN;
      else process.env.METRICS_TOKEN = saved;
    }
    await new Promise<void>((resolve) => guarded.listen(0, "127.0.0.1", resolve));
    guardedBase = `http://127.0.0.1:${(guarded.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => guarded?.close(resolve));
  });

  it("answers 401 in the API's error format without the token, or with a wrong one", async () => {
    for (const authorization of [undefined, "Bearer wrong-token", `Basic ${token}`, `Bearer ${token}x`, core.keys.secret]) {
      const res = await fetch(`${guardedBase}/metrics`, { headers: authorization ? { Authorization: authorization } : {} });
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer /);
      const body = await res.json();
      expect(body).toEqual({
        error: { type: "authentication_error", code: "unauthorized", message: expect.stringMatching(/METRICS_TOKEN/), request_id: res.headers.get("request-id") },
      });
      expect(JSON.stringify(body)).not.toContain("payment_api_requests_total");
    }
    // The refusal is the gateway's own reply: one log line, without the token.
    const res = await fetch(`${guardedBase}/metrics`, { headers: { Authorization: "Bearer nope", "X-Request-Id": "req_metrics_denied_1" } });
    expect(res.status).toBe(401);
    await res.arrayBuffer();
    expect(log.lines().filter((l) => l.request_id === "req_metrics_denied_1")).toEqual([
      expect.objectContaining({ method: "GET", path: "/metrics", status_code: 401, level: "warn", grpc_method: null }),
    ]);
    expect(JSON.stringify(log.lines())).not.toContain(token);
  });

  it("serves the metrics with the token (the scheme in any case)", async () => {
    for (const scheme of ["Bearer", "bearer"]) {
      const res = await fetch(`${guardedBase}/metrics`, { headers: { Authorization: `${scheme} ${token}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
      expect(await res.text()).toMatch(/^# HELP /m);
    }
  });

  it("stays open without METRICS_TOKEN (development)", async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  });
});
