// Which cores the benchmark runs (databases × drivers) and whether the core
// has landed in this checkout.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export interface Backend {
  name: string;
  label: string;
  options: Record<string, unknown>;
  concurrency?: number[];
  extraCases?: (ctx: any) => Promise<void>;
}

const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

/** Undefined when the core can run here, else what is missing. */
export function coreAvailable(): string | undefined {
  for (const f of ["server/app.ts", "gateway/server.ts"]) if (!existsSync(root(f))) return `${f} has not landed yet`;
  return undefined;
}

/** The cores to measure. */
export function benchBackends(quick: boolean): Backend[] {
  const all: Backend[] = [
    { name: "sqlite3", label: "sqlite3", options: { database: "sqlite", driver: "sqlite3" } },
    { name: "better-sqlite3", label: "better-sqlite3", options: { database: "sqlite", driver: "better-sqlite3" } },
    { name: "postgres", label: "postgres", options: { database: "postgres" } },
    // The request log's cost: the same core without its log line and metrics per call.
    { name: "nolog", label: "better-sqlite3 (no request log)", options: { database: "sqlite", driver: "better-sqlite3", logging: false }, concurrency: [16] },
    // The limiter's overhead: the same driver as above, with limits no flow reaches.
    { name: "limiter-memory", label: "better-sqlite3 + limiter (memory)", options: { database: "sqlite", driver: "better-sqlite3", rateLimit: "memory" }, concurrency: [16] },
    { name: "limiter-redis", label: "better-sqlite3 + limiter (redis)", options: { database: "sqlite", driver: "better-sqlite3", rateLimit: "redis" }, concurrency: [16] },
  ];
  return quick ? all.filter((b) => b.name !== "limiter-redis" && b.name !== "nolog") : all;
}

/** The webhook case: a backlog made by REST flows, then timed while one worker drains it. */
export const WEBHOOK_BACKEND: Backend = {
  name: "webhooks",
  label: "webhooks (better-sqlite3)",
  options: { database: "sqlite", driver: "better-sqlite3", webhooks: "deferred" },
};

/** How many endpoints receive every event in the webhook case. */
export const WEBHOOK_ENDPOINTS = 8;
