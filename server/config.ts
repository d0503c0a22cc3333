// Configuration from the environment, read in one place. Everything has a
// default that works on a laptop: `npm start` needs no variables at all.

/** Which Node SQLite binding knex drives. */
export type SqliteDriver = "sqlite3" | "better-sqlite3";

/**
 * SQLite's `synchronous` pragma. In WAL mode NORMAL never corrupts the
 * database; a power loss (not a process crash) may lose the last few
 * committed transactions, and it saves one fsync per commit, which is most
 * of a commit's cost. FULL fsyncs the WAL on every commit: choose it where a
 * machine crash must not lose an acknowledged payment.
 */
export type SqliteSynchronous = "OFF" | "NORMAL" | "FULL" | "EXTRA";

/** The process's configuration. */
export interface Config {
  /** REST gateway port (`PORT`, default 8080). */
  port: number;
  /** gRPC port (`GRPC_PORT`, default 50051). */
  grpcPort: number;
  /** `DATABASE_URL`: `sqlite://<path>`, `sqlite://:memory:`, `:memory:` or `postgres://…`. */
  databaseUrl: string;
  /** `SQLITE_DRIVER`: `sqlite3` (default) or `better-sqlite3`. */
  sqliteDriver: SqliteDriver;
  /** `SQLITE_SYNCHRONOUS`: durability of SQLite commits (default NORMAL, see SqliteSynchronous). */
  sqliteSynchronous: SqliteSynchronous;
  /** `SQLITE_BUSY_TIMEOUT_MS`: how long a writer waits for another process's lock (default 5000). */
  sqliteBusyTimeoutMs: number;
  /** `PUBLIC_BASE_URL`: where merchants reach the REST API (receipt and 3-D Secure links). */
  publicBaseUrl: string;
  /** `FINGERPRINT_SECRET`; unset → generated once and kept in the database (server/db/settings.ts). */
  fingerprintSecret?: string;
  /** `MIGRATE`: apply pending migrations at start-up (default on for SQLite, off for PostgreSQL). */
  migrate: boolean;
}

/** The default database: a SQLite file under ./data/ (git-ignored). */
export const DEFAULT_DATABASE_URL = "sqlite://./data/payments.sqlite3";

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0, max = 65535): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer between ${min} and ${max}, got '${raw}'`);
  return n;
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[], fallback: T, upper = false): T {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = (upper ? raw.toUpperCase() : raw) as T;
  if (!allowed.includes(value)) throw new Error(`${name} must be one of ${allowed.join(", ")}, got '${raw}'`);
  return value;
}

function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new Error(`${name} must be true or false, got '${env[name]}'`);
}

/** True for a `postgres://` or `postgresql://` URL. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** Reads the configuration from `env` (default: process.env); throws on invalid values. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const databaseUrl = env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const port = int(env, "PORT", 8080);
  const publicBaseUrl = (env.PUBLIC_BASE_URL || `http://localhost:${port}`).replace(/\/+$/, "");
  try {
    new URL(publicBaseUrl);
  } catch {
    throw new Error(`PUBLIC_BASE_URL must be an absolute URL, got '${env.PUBLIC_BASE_URL}'`);
  }
  return {
    port,
    grpcPort: int(env, "GRPC_PORT", 50051),
    databaseUrl,
    sqliteDriver: oneOf(env, "SQLITE_DRIVER", ["sqlite3", "better-sqlite3"] as const, "sqlite3"),
    sqliteSynchronous: oneOf(env, "SQLITE_SYNCHRONOUS", ["OFF", "NORMAL", "FULL", "EXTRA"] as const, "NORMAL", true),
    sqliteBusyTimeoutMs: int(env, "SQLITE_BUSY_TIMEOUT_MS", 5000, 0, 600_000),
    publicBaseUrl,
    fingerprintSecret: env.FINGERPRINT_SECRET || undefined,
    // PostgreSQL is shared by many processes: migrating is an explicit deploy step there.
    migrate: bool(env, "MIGRATE", !isPostgresUrl(databaseUrl)),
  };
}
