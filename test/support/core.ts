// The test harness: a real core (real database, migrations, auth,
// idempotency) with a real gRPC server on port 0, and a merchant with keys of
// every kind. SQLite gets a temporary file (or :memory:); PostgreSQL gets a
// fresh database on 127.0.0.1:5432, dropped on close.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import knex from "knex";
import { createCore, type Core, type CoreOptions } from "../../server/app";
import type { SqliteDriver } from "../../server/config";
import type { CoreDeps } from "../../server/deps";
import { createMerchantWithKeys } from "../../server/merchants/service";
import type { Pipeline } from "../../server/pipeline/pipeline";

/** The databases every core test runs against, for `describe.each(BACKENDS)`. */
export const BACKENDS = (process.env.TEST_BACKENDS?.split(",") ?? ["sqlite", "postgres"]) as Backend[];

/** A database kind the core runs on. */
export type Backend = "sqlite" | "postgres";

/** The PostgreSQL server tests create their databases on (database `test` must exist). */
export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** Options of startTestCore. */
export interface TestCoreOptions extends Omit<CoreOptions, "databaseUrl" | "grpcPort" | "grpcHost"> {
  backend?: Backend;
  /** SQLite in memory instead of a temporary file. */
  memory?: boolean;
  /** SQLite binding; default SQLITE_DRIVER or `sqlite3`. */
  driver?: SqliteDriver;
}

/** A running test core and its merchants' keys. */
export interface TestCore {
  backend: Backend;
  /** The core's database, for a second core on the same data. */
  databaseUrl: string;
  /** `127.0.0.1:<port>` of the gRPC server: `new XServiceClient(grpcAddress, grpc.credentials.createInsecure())`. */
  grpcAddress: string;
  pipeline: Pipeline;
  deps: CoreDeps;
  core: Core;
  /** The main merchant's raw keys. */
  keys: { secret: string; publishable: string; liveSecret: string; livePublishable: string };
  merchantId: string;
  /** A second merchant, to prove isolation. */
  otherMerchant: { id: string; secret: string; publishable: string };
  /** Metadata carrying `authorization: Bearer <key>` and any `extra` entries (e.g. idempotency-key). */
  metadata(key: string, extra?: Record<string, string>): grpc.Metadata;
  /** A generated client on this core, closed with it. */
  client<T extends grpc.Client>(ctor: new (address: string, credentials: grpc.ChannelCredentials) => T): T;
  close(): Promise<void>;
}

/** Starts a core for a test; call `close()` in afterAll. */
export async function startTestCore(opts: TestCoreOptions = {}): Promise<TestCore> {
  const backend = opts.backend ?? "sqlite";
  const cleanups: Array<() => Promise<void> | void> = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (err) {
        console.error("test core cleanup failed:", err);
      }
    }
  };

  let databaseUrl: string;
  if (backend === "postgres") {
    const name = `payments_test_${randomBytes(6).toString("hex")}`;
    databaseUrl = await createPostgresDatabase(name);
    cleanups.push(() => dropPostgresDatabase(name));
  } else if (opts.memory) {
    databaseUrl = ":memory:";
  } else {
    const dir = mkdtempSync(join(tmpdir(), "payments-test-"));
    databaseUrl = `sqlite://${join(dir, "payments.sqlite3")}`;
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  }

  try {
    const core = await createCore({
      ...opts,
      driver: opts.driver ?? (process.env.SQLITE_DRIVER as SqliteDriver | undefined),
      databaseUrl,
      grpcPort: 0,
      grpcHost: "127.0.0.1",
    });
    cleanups.push(() => core.close());
    const db = core.deps.db;
    const main = await createMerchantWithKeys(db, { name: "Test Merchant" });
    const other = await createMerchantWithKeys(db, { name: "Other Merchant", live: false });
    const grpcAddress = `127.0.0.1:${core.grpcPort}`;
    const clients: grpc.Client[] = [];
    cleanups.push(() => clients.forEach((c) => c.close()));
    return {
      backend,
      databaseUrl,
      grpcAddress,
      pipeline: core.pipeline,
      deps: core.deps,
      core,
      merchantId: main.merchant.id,
      keys: {
        secret: main.keys.secret.key,
        publishable: main.keys.publishable.key,
        liveSecret: main.keys.liveSecret!.key,
        livePublishable: main.keys.livePublishable!.key,
      },
      otherMerchant: { id: other.merchant.id, secret: other.keys.secret.key, publishable: other.keys.publishable.key },
      metadata(key, extra = {}) {
        const md = new grpc.Metadata();
        md.set("authorization", `Bearer ${key}`);
        for (const [k, v] of Object.entries(extra)) md.set(k, v);
        return md;
      },
      client(ctor) {
        const c = new ctor(grpcAddress, grpc.credentials.createInsecure());
        clients.push(c);
        return c;
      },
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

function adminDb() {
  return knex({ client: "pg", connection: TEST_POSTGRES_URL, pool: { min: 0, max: 1 } });
}

/** Creates an empty database on the test PostgreSQL; returns its URL. */
export async function createPostgresDatabase(name: string): Promise<string> {
  const admin = adminDb();
  try {
    await admin.raw(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.destroy();
  }
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops a database made by createPostgresDatabase (closing any connection left). */
export async function dropPostgresDatabase(name: string): Promise<void> {
  const admin = adminDb();
  try {
    await admin.raw(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.destroy();
  }
}
