// Shared pieces of the ops tests: a log file to scan, rate-limit config with
// small limits, and Redis key clean-up by prefix.
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { createLogger } from "../../server/observability/logger";
import { rateLimitConfigFromEnv, type RateLimitConfig } from "../../server/ratelimit/config";

/** The Redis every test run uses, with its own key prefix. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** A logger writing to a fresh temporary file, a reader of its JSON lines, and `remove()` for afterAll. */
export function fileLogger() {
  const dir = mkdtempSync(join(tmpdir(), "payments-ops-"));
  const file = join(dir, "log.jsonl");
  return {
    dir,
    file,
    logger: createLogger({ level: "info", file }),
    remove(): void {
      rmSync(dir, { recursive: true, force: true });
    },
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

/** A `npm start`-like child process (server/main.ts) on free ports. */
export interface ServerProcess {
  port: number;
  grpcPort: number;
  /** Raw development key, when this process created the development merchant. */
  devKey?: string;
  logLines(): Array<Record<string, any>>;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
  /** Kills it if still running and removes its log. */
  kill(): void;
}

/** Starts server/main.ts in a child process with `env`; resolves once it logged `started`. */
export async function spawnServer(env: Record<string, string>): Promise<ServerProcess> {
  const { spawn } = await import("node:child_process");
  const root = join(__dirname, "../..");
  const logDir = mkdtempSync(join(tmpdir(), "payments-proc-"));
  const logFile = join(logDir, "log.jsonl");
  let stdout = "";
  let stderr = "";
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "server/main.ts")], {
    cwd: root,
    env: { ...process.env, PORT: "0", GRPC_PORT: "0", LOG_FILE: logFile, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (c) => (stdout += c));
  child.stderr!.on("data", (c) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const logLines = () =>
    existsSync(logFile)
      ? readFileSync(logFile, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l))
      : [];
  const deadline = Date.now() + 30_000;
  let started: Record<string, any> | undefined;
  while (!(started = logLines().find((l) => l.event === "started"))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`server did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port: started.port,
    grpcPort: started.grpc_port,
    devKey: /^(sk_test_\S+)$/m.exec(stdout)?.[1],
    logLines,
    stop: () => {
      child.kill("SIGTERM");
      return exited;
    },
    kill: () => {
      if (child.exitCode === null) child.kill("SIGKILL");
      rmSync(logDir, { recursive: true, force: true });
    },
  };
}
