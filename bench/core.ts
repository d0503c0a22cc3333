// The real core inside a benchmark server child: createCore with a gRPC
// server, and the Node REST gateway in the same process dispatching to the
// pipeline in-process, as `npm start` runs them. Rate limits are either off
// or generous (so the benchmark measures the limiter's cost, not its refusals).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { createCore, type CoreOptions } from "../server/app";
import type { SqliteDriver, SqliteSynchronous } from "../server/config";
import { createMerchantWithKeys } from "../server/merchants/service";
import { createGateway } from "../gateway/server";
import { createPostgresDatabase, dropPostgresDatabase } from "../test/support/core";
import { atExit, type ServerInfo } from "./servers";

/** What a bench core runs on. */
export interface BenchCoreOptions {
  database: "sqlite" | "postgres";
  driver?: SqliteDriver;
  synchronous?: SqliteSynchronous;
  /** Rate limiter: off (default), in memory, or in Redis (REDIS_URL or 127.0.0.1:6379). */
  rateLimit?: "memory" | "redis";
  /** One JSON log line per call and request metrics, as `npm start` does (default true; to a temp file). */
  logging?: boolean;
  /** "deferred": no worker until the parent says `webhooks-start` (to time a backlog's delivery). */
  webhooks?: "deferred";
}

const GENEROUS = 1_000_000_000;

let running: Awaited<ReturnType<typeof createCore>> | undefined;

/** Messages from bench/run.ts beyond start/stats: the webhook delivery measurement. */
export async function benchControl(msg: { type: string }): Promise<object | undefined> {
  if (!running) return undefined;
  const db = running.deps.db;
  if (msg.type === "webhooks-status") {
    const rows: Array<{ status: string; n: number | string }> = await db("webhook_deliveries").select("status").count({ n: "*" }).groupBy("status");
    return { type: "webhooks-status", counts: Object.fromEntries(rows.map((r) => [r.status, Number(r.n)])) };
  }
  if (msg.type === "webhooks-start") {
    const { startWebhookWorker } = await import("../server/webhooks/worker");
    // The per-endpoint limit (10,000/min by the API design) is lifted: this measures the worker.
    const worker = startWebhookWorker(running.deps, { config: { pollMs: 50, ratePerMinute: 100_000_000 } });
    atExit(() => worker.stop());
    return { type: "webhooks-started" };
  }
  return undefined;
}

/** Starts the core and its in-process REST gateway. */
export async function startBenchCore(raw: Record<string, unknown>): Promise<ServerInfo> {
  const options = raw as unknown as BenchCoreOptions;
  const notes: string[] = [];
  let databaseUrl: string;
  if (options.database === "postgres") {
    const name = `payments_bench_${process.pid}_${Date.now()}`;
    databaseUrl = await createPostgresDatabase(name);
    atExit(() => dropPostgresDatabase(name));
    notes.push("PostgreSQL 127.0.0.1:5432, default synchronous_commit (on)");
  } else {
    const dir = mkdtempSync(join(tmpdir(), "payments-bench-"));
    databaseUrl = `sqlite://${join(dir, "bench.sqlite3")}`;
    atExit(() => rmSync(dir, { recursive: true, force: true }));
    notes.push(`SQLite file, WAL, synchronous=${options.synchronous ?? "NORMAL"} (driver ${options.driver ?? "sqlite3"})`);
  }

  const coreOptions: CoreOptions = {
    databaseUrl,
    driver: options.driver,
    synchronous: options.synchronous,
    grpcPort: 0,
    grpcHost: "127.0.0.1",
    migrate: true,
    webhookWorker: options.webhooks === "deferred" ? false : undefined,
  };
  let closeLimiter: (() => Promise<void>) | undefined;
  if (options.rateLimit) {
    const { createRateLimiting } = await import("../server/ratelimit/limiter");
    const { rateLimitConfigFromEnv } = await import("../server/ratelimit/config");
    const { createLogger } = await import("../server/observability/logger");
    const base = rateLimitConfigFromEnv({});
    const prefix = `bench-${process.pid}-${Date.now()}`;
    const limiting = await createRateLimiting(createLogger({ level: "silent" }), {
      ...base,
      limits: { default: GENEROUS, payment_creation: GENEROUS },
      keyPrefix: prefix,
      redisUrl: options.rateLimit === "redis" ? process.env.REDIS_URL || "redis://127.0.0.1:6379" : undefined,
    });
    coreOptions.rateLimiter = limiting.limiter;
    closeLimiter = () => limiting.close();
    notes.push(`rate limiter: ${limiting.store.backend} (limits set to ${GENEROUS}/min so nothing is refused)`);
  }

  if (options.logging !== false) {
    const { createLogger } = await import("../server/observability/logger");
    const { observeCalls } = await import("../server/observability/calls");
    const logDir = mkdtempSync(join(tmpdir(), "payments-bench-log-"));
    atExit(() => rmSync(logDir, { recursive: true, force: true }));
    coreOptions.onCall = observeCalls(createLogger({ level: "info", file: join(logDir, "core.log") }));
    notes.push("request log (pino, one line per call, to a file) and metrics on, as npm start runs");
  }
  const core = await createCore(coreOptions);
  running = core;
  const { keys } = await createMerchantWithKeys(core.deps.db, { name: "Bench Merchant", live: false });
  const gateway = createGateway({ dispatcher: core.pipeline });
  await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
  gateway.keepAliveTimeout = 60_000;
  atExit(async () => {
    gateway.closeAllConnections();
    await new Promise((r) => gateway.close(r));
    await core.close();
    await closeLimiter?.();
  });
  return {
    httpPort: (gateway.address() as AddressInfo).port,
    grpcPort: core.grpcPort,
    notes,
    extra: { secretKey: keys.secret.key, publishableKey: keys.publishable.key },
  };
}
