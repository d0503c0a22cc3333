// Assembles the core: database (migrated or checked), handlers, the request
// pipeline with auth and idempotency, the gRPC server and background work.
// `npm start` (server/main.ts) and the test harness both build it here.
import * as grpc from "@grpc/grpc-js";
import type { SqliteDriver, SqliteSynchronous } from "./config";
import { DEFAULT_DATABASE_URL } from "./config";
import { ApiKeyAuthenticator } from "./auth/authenticator";
import { createDb } from "./db/knex";
import { checkMigrations, migrateLatest } from "./db/migrations";
import { resolveFingerprintSecret } from "./db/settings";
import type { CoreDeps, CoreSettings } from "./deps";
import { addServices, listen } from "./grpc/binding";
import { idempotencyRequestKey, SqlIdempotencyStore, type IdempotencyOptions } from "./idempotency/store";
import { openBytes, sealBytes, webhookSecretKey } from "./webhooks/secrets";
import { SERVICES, type ServiceHandlers } from "./methods";
import { Pipeline, type CallRecord, type RateLimiter } from "./pipeline/pipeline";
import { allHandlers } from "./services";
import { serveHealth, type HealthStatus } from "./health/grpc";
import { startWebhookWorker, type WorkerOptions } from "./webhooks/worker";
import type { EndpointLimiter } from "./ratelimit/limiter";

/** How to build a core. */
export interface CoreOptions {
  /** Default: the SQLite file under ./data/. */
  databaseUrl?: string;
  /** SQLite binding; default `sqlite3`. */
  driver?: SqliteDriver;
  /** SQLite durability; default NORMAL. */
  synchronous?: SqliteSynchronous;
  busyTimeoutMs?: number;
  /** Serve gRPC on this port (0: any free port). Absent: no gRPC server (in-process dispatch only). */
  grpcPort?: number;
  /** Interface to bind gRPC on; default 0.0.0.0. */
  grpcHost?: string;
  /** Apply pending migrations (default true); false refuses to start when any are pending. */
  migrate?: boolean;
  settings?: Partial<CoreSettings>;
  /** Unix seconds now (tests pin it). */
  now?: () => number;
  /** The ops engineer's rate limiter, if any. */
  rateLimiter?: RateLimiter;
  /** Called for every finished call (logging, metrics). */
  onCall?: (record: CallRecord) => void;
  /** Auth cache lifetime in ms (see ApiKeyAuthenticatorOptions.cacheMs). */
  authCacheMs?: number;
  /** Idempotency tuning (TTLs, logger); its keys are derived here. */
  idempotency?: Omit<IdempotencyOptions, "now" | "responseCipher" | "requestHashKey">;
  /** Serve grpc.health.v1.Health from this status on the gRPC server (ops engineer). */
  health?: HealthStatus;
  /** Replaces the built handlers (tests that need a handler of their own). */
  handlers?: (deps: CoreDeps) => ServiceHandlers;
  /** The webhook delivery worker: on unless false; options for tests. */
  webhookWorker?: boolean | WorkerOptions;
  /** The shared per-endpoint webhook limiter (RateLimiting.webhooks); default: a per-process one. */
  webhookLimiter?: EndpointLimiter;
}

/** A running core. */
export interface Core {
  pipeline: Pipeline;
  deps: CoreDeps;
  /** The bound gRPC port, when serving gRPC. */
  grpcPort?: number;
  /** The gRPC server, when serving gRPC (graceful shutdown stops it accepting first). */
  grpcServer?: grpc.Server;
  auth: ApiKeyAuthenticator;
  idempotency: SqlIdempotencyStore;
  /** Stops the gRPC server and background work, then closes the database. */
  close(): Promise<void>;
}

/** How often expired idempotency records are deleted. */
const PRUNE_EVERY_MS = 10 * 60 * 1000;

/** Builds and starts a core. */
export async function createCore(options: CoreOptions = {}): Promise<Core> {
  const db = createDb({
    url: options.databaseUrl ?? DEFAULT_DATABASE_URL,
    driver: options.driver,
    synchronous: options.synchronous,
    busyTimeoutMs: options.busyTimeoutMs,
  });
  const cleanups: Array<() => Promise<void> | void> = [() => db.destroy()];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    if (options.migrate ?? true) await migrateLatest(db);
    else await checkMigrations(db);

    const now = options.now ?? (() => Math.floor(Date.now() / 1000));
    const settings: CoreSettings = {
      publicBaseUrl: (options.settings?.publicBaseUrl ?? "http://localhost:8080").replace(/\/+$/, ""),
      fingerprintSecret: await resolveFingerprintSecret(db, options.settings?.fingerprintSecret),
    };
    const deps: CoreDeps = { db, settings, now };
    const auth = new ApiKeyAuthenticator(db, { cacheMs: options.authCacheMs });
    const secretKey = webhookSecretKey(process.env, settings.fingerprintSecret);
    const idempotency = new SqlIdempotencyStore(db, {
      ...options.idempotency,
      now,
      // Stored responses carry client secrets and signing secrets: all sealed.
      responseCipher: { seal: (b) => sealBytes(secretKey, b), open: (b) => openBytes(secretKey, b) },
      requestHashKey: idempotencyRequestKey(secretKey),
    });
    const pipeline = new Pipeline({
      handlers: (options.handlers ?? allHandlers)(deps),
      auth,
      idempotency,
      rateLimiter: options.rateLimiter,
      onCall: options.onCall,
    });

    await idempotency.prune();
    const pruner = setInterval(() => void idempotency.prune().catch(() => undefined), PRUNE_EVERY_MS);
    pruner.unref();
    cleanups.push(() => clearInterval(pruner));

    if (options.webhookWorker !== false) {
      const workerOptions = options.webhookWorker === true || options.webhookWorker === undefined ? {} : options.webhookWorker;
      const worker = startWebhookWorker(deps, { limiter: options.webhookLimiter, ...workerOptions });
      cleanups.push(() => worker.stop());
    }

    let grpcPort: number | undefined;
    let grpcServer: grpc.Server | undefined;
    if (options.grpcPort !== undefined) {
      const server = new grpc.Server();
      addServices(server, pipeline);
      if (options.health) serveHealth(server, options.health, Object.keys(SERVICES));
      grpcServer = server;
      grpcPort = await listen(server, `${options.grpcHost ?? "0.0.0.0"}:${options.grpcPort}`);
      cleanups.push(() => shutdown(server));
    }

    return { pipeline, deps, grpcPort, grpcServer, auth, idempotency, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Lets calls in progress finish for a moment, then cuts the rest. */
function shutdown(server: grpc.Server, graceMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
