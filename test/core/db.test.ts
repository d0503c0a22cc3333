// The database layer: both SQLite bindings open with the documented pragmas,
// migrations apply on every backend, and a core refuses to start on a
// database with unapplied migrations unless told to migrate.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { createCore } from "../../server/app";
import { loadConfig } from "../../server/config";
import { createDb, isUniqueViolation } from "../../server/db/knex";
import { MIGRATIONS, checkMigrations, migrateLatest, pendingMigrations } from "../../server/db/migrations";
import { createPostgresDatabase, dropPostgresDatabase } from "../support/core";

const dir = mkdtempSync(join(tmpdir(), "payments-db-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(["sqlite3", "better-sqlite3"] as const)("SQLite through %s", (driver) => {
  it("opens in WAL mode with a busy timeout and the configured synchronous level", async () => {
    for (const [synchronous, level] of [["NORMAL", 1], ["FULL", 2]] as const) {
      const db = createDb({ url: `sqlite://${join(dir, `${driver}-${synchronous}.sqlite3`)}`, driver, synchronous, busyTimeoutMs: 1234 });
      try {
        const first = async (sql: string) => Object.values((await db.raw(sql))[0])[0];
        expect(await first("PRAGMA journal_mode")).toBe("wal");
        expect(await first("PRAGMA synchronous")).toBe(level);
        expect(await first("PRAGMA busy_timeout")).toBe(1234);
        expect(await first("PRAGMA foreign_keys")).toBe(1);
      } finally {
        await db.destroy();
      }
    }
  });

  it("applies the migrations, stores booleans and reports unique violations", async () => {
    const db = createDb({ url: `sqlite://${join(dir, `${driver}-migrate.sqlite3`)}`, driver });
    try {
      expect(await migrateLatest(db)).toEqual(MIGRATIONS.map(([name]) => name));
      expect(await pendingMigrations(db)).toEqual([]);
      await db("merchants").insert({ id: "acct_1", name: "A", active: false, created: 1 });
      expect(await db("merchants").where({ active: false }).pluck("id")).toEqual(["acct_1"]);
      const err = await db("merchants").insert({ id: "acct_1", name: "B", active: true, created: 2 }).catch((e) => e);
      expect(isUniqueViolation(err)).toBe(true);
    } finally {
      await db.destroy();
    }
  });

  it("keeps a :memory: database alive for the life of the knex instance", async () => {
    const db = createDb({ url: ":memory:", driver });
    try {
      await migrateLatest(db);
      await db("settings").insert({ name: "x", value: "1" });
      expect(await db("settings").where({ name: "x" }).first("value")).toEqual({ value: "1" });
    } finally {
      await db.destroy();
    }
  });
});

describe("PostgreSQL", () => {
  it("applies the migrations and reports unique violations", async () => {
    const name = `payments_test_${randomBytes(6).toString("hex")}`;
    const url = await createPostgresDatabase(name);
    const db = createDb({ url });
    try {
      expect(await pendingMigrations(db)).toEqual(MIGRATIONS.map(([n]) => n));
      await expect(checkMigrations(db)).rejects.toThrow(/unapplied migration/);
      await migrateLatest(db);
      await checkMigrations(db);
      await db("merchants").insert({ id: "acct_1", name: "A", active: true, created: 1 });
      const err = await db("merchants").insert({ id: "acct_1", name: "B", active: true, created: 2 }).catch((e) => e);
      expect(isUniqueViolation(err)).toBe(true);
    } finally {
      await db.destroy();
      await dropPostgresDatabase(name);
    }
  });
});

describe("start-up migration check", () => {
  it("refuses a database with unapplied migrations unless told to migrate", async () => {
    const url = `sqlite://${join(dir, "startup.sqlite3")}`;
    await expect(createCore({ databaseUrl: url, migrate: false, webhookWorker: false })).rejects.toThrow(/unapplied migration.*npm run migrate/);
    const core = await createCore({ databaseUrl: url, migrate: true, webhookWorker: false });
    await core.close();
    const again = await createCore({ databaseUrl: url, migrate: false, webhookWorker: false });
    await again.close();
  });

  it("keeps one generated fingerprint secret per database", async () => {
    const url = `sqlite://${join(dir, "secret.sqlite3")}`;
    const a = await createCore({ databaseUrl: url, webhookWorker: false });
    const secret = a.deps.settings.fingerprintSecret;
    await a.close();
    const b = await createCore({ databaseUrl: url, webhookWorker: false });
    expect(b.deps.settings.fingerprintSecret).toBe(secret);
    expect(secret.length).toBeGreaterThanOrEqual(32);
    await b.close();
    const c = await createCore({ databaseUrl: url, webhookWorker: false, settings: { fingerprintSecret: "from-env" } });
    expect(c.deps.settings.fingerprintSecret).toBe("from-env");
    await c.close();
  });
});

describe("configuration", () => {
  it("has working defaults", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 8080,
      grpcPort: 50051,
      databaseUrl: "sqlite://./data/payments.sqlite3",
      sqliteDriver: "sqlite3",
      sqliteSynchronous: "NORMAL",
      publicBaseUrl: "http://localhost:8080",
      migrate: true,
    });
    expect(c.fingerprintSecret).toBeUndefined();
  });

  it("reads every variable, and does not migrate PostgreSQL unless asked", () => {
    const c = loadConfig({
      PORT: "9000",
      GRPC_PORT: "9001",
      DATABASE_URL: "postgres://u:p@db:5432/pay",
      SQLITE_DRIVER: "better-sqlite3",
      SQLITE_SYNCHRONOUS: "full",
      PUBLIC_BASE_URL: "https://api.example.com/",
      FINGERPRINT_SECRET: "s3cret",
    });
    expect(c).toMatchObject({
      port: 9000,
      grpcPort: 9001,
      sqliteDriver: "better-sqlite3",
      sqliteSynchronous: "FULL",
      publicBaseUrl: "https://api.example.com",
      fingerprintSecret: "s3cret",
      migrate: false,
    });
    expect(loadConfig({ DATABASE_URL: "postgres://db/pay", MIGRATE: "true" }).migrate).toBe(true);
  });

  it("refuses invalid values with the variable's name", () => {
    expect(() => loadConfig({ PORT: "http" })).toThrow(/PORT/);
    expect(() => loadConfig({ SQLITE_DRIVER: "sqlite4" })).toThrow(/SQLITE_DRIVER/);
    expect(() => loadConfig({ SQLITE_SYNCHRONOUS: "sometimes" })).toThrow(/SQLITE_SYNCHRONOUS/);
    expect(() => loadConfig({ PUBLIC_BASE_URL: "not a url" })).toThrow(/PUBLIC_BASE_URL/);
    expect(() => createDb({ url: "mysql://x" })).toThrow(/DATABASE_URL/);
  });
});
