// The one place a database connection is made: SQLite through either Node
// binding, or PostgreSQL, behind the same knex API so that every store and
// migration runs unchanged on both.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import knex, { type Knex } from "knex";
import { isPostgresUrl, type SqliteDriver, type SqliteSynchronous } from "../config";

/** How to open the database. */
export interface DbOptions {
  /** `sqlite://<path>`, `sqlite://:memory:`, `:memory:` or `postgres://…`. */
  url: string;
  /** SQLite binding (ignored for PostgreSQL). Default `sqlite3`. */
  driver?: SqliteDriver;
  /** SQLite durability (see SqliteSynchronous in server/config.ts). Default NORMAL. */
  synchronous?: SqliteSynchronous;
  /** How long a SQLite writer waits for another process's lock. Default 5000 ms. */
  busyTimeoutMs?: number;
  /** PostgreSQL pool size. Default 10. */
  poolMax?: number;
}

/** The file a SQLite URL names, or `:memory:`; undefined for non-SQLite URLs. */
export function sqliteFilename(url: string): string | undefined {
  if (url === ":memory:") return url;
  const m = /^sqlite:(?:\/\/)?(.+)$/i.exec(url);
  return m ? m[1] : undefined;
}

/** Opens a knex instance for `options.url`; the caller destroys it. */
export function createDb(options: DbOptions): Knex {
  if (isPostgresUrl(options.url)) {
    return knex({
      client: "pg",
      connection: options.url,
      pool: { min: 0, max: options.poolMax ?? 10 },
    });
  }
  const filename = sqliteFilename(options.url);
  if (!filename) throw new Error(`DATABASE_URL must be sqlite://<path>, :memory: or postgres://…, got '${options.url}'`);
  if (filename !== ":memory:") mkdirSync(dirname(filename), { recursive: true });
  const driver = options.driver ?? "sqlite3";
  const pragmas = [
    // WAL: readers never block the writer and a commit is one append.
    "PRAGMA journal_mode = WAL",
    // Another process holding the write lock makes us wait, not fail with SQLITE_BUSY.
    `PRAGMA busy_timeout = ${options.busyTimeoutMs ?? 5000}`,
    // Explicit, never the build's default: see SqliteSynchronous.
    `PRAGMA synchronous = ${options.synchronous ?? "NORMAL"}`,
    "PRAGMA foreign_keys = ON",
  ];
  return knex({
    client: driver,
    connection: { filename },
    useNullAsDefault: true,
    // One connection per process: SQLite has one writer anyway, and knex then
    // queues transactions instead of failing them with SQLITE_BUSY. For
    // `:memory:` it is also what keeps the database alive (never idle-reaped).
    pool: {
      min: 1,
      max: 1,
      idleTimeoutMillis: Number.MAX_SAFE_INTEGER,
      afterCreate: (conn: RawSqlite, done: (err: Error | null, conn: RawSqlite) => void) => {
        if (driver === "better-sqlite3") cachePreparedStatements(conn as unknown as PreparingConnection);
        runPragmas(conn, driver, pragmas).then(
          () => done(null, conn),
          (err: Error) => done(err, conn),
        );
      },
    },
  });
}

type RawSqlite = { exec(sql: string, cb?: (err: Error | null) => void): unknown };

type PreparingConnection = { prepare(sql: string): unknown };

/** How many distinct statements a connection keeps prepared. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * knex's better-sqlite3 client prepares every query anew; SQLite compiling
 * the same few dozen statements over and over was a tenth of a payment
 * flow's CPU. This keeps the most recently used ones (keyed by their SQL
 * text, which knex builds with placeholders) and hands them back. Safe because
 * better-sqlite3 runs a statement to completion synchronously, knex sets no
 * per-statement options we use, and SQLite re-prepares a statement itself
 * when the schema changes.
 */
function cachePreparedStatements(conn: PreparingConnection): void {
  const prepare = conn.prepare.bind(conn);
  const cache = new Map<string, unknown>();
  conn.prepare = (sql: string) => {
    let statement = cache.get(sql);
    if (statement !== undefined) {
      cache.delete(sql);
    } else {
      statement = prepare(sql);
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    }
    cache.set(sql, statement);
    return statement;
  };
}

async function runPragmas(conn: RawSqlite, driver: SqliteDriver, pragmas: string[]): Promise<void> {
  for (const sql of pragmas) {
    if (driver === "better-sqlite3") conn.exec(sql);
    else await new Promise<void>((resolve, reject) => conn.exec(sql, (err) => (err ? reject(err) : resolve())));
  }
}

/** True when `db` talks to PostgreSQL. */
export function isPostgres(db: Knex): boolean {
  return db.client.config.client === "pg";
}

/** True for a primary-key or unique-index violation, on either database. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  // PostgreSQL: 23505; sqlite3: SQLITE_CONSTRAINT (+ message); better-sqlite3: SQLITE_CONSTRAINT_PRIMARYKEY / _UNIQUE.
  if (code === "23505" || code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "SQLITE_CONSTRAINT_UNIQUE") return true;
  return code === "SQLITE_CONSTRAINT" && /UNIQUE constraint failed/.test(String((err as Error).message));
}

/** Reads a boolean column: SQLite returns 0/1, PostgreSQL true/false. */
export function bool(value: unknown): boolean {
  return value === true || value === 1 || value === "1";
}
