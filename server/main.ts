// `npm start`: the gRPC core on GRPC_PORT and the REST gateway on PORT in one
// process, the gateway dispatching in-process into the core's pipeline (the
// same bytes and the same pipeline as over gRPC). Configuration: server/config.ts.
import { createGateway } from "../gateway/server";
import { openApiRoutes } from "../gateway/openapi/routes";
import { createCore } from "./app";
import { loadConfig } from "./config";
import { HealthStatus } from "./health/grpc";
import { healthRoutes } from "./health/routes";
import { describeDevMerchant, ensureDevelopmentMerchant } from "./merchants/dev";
import { logGatewayReplies, observeCalls } from "./observability/calls";
import { createLogger } from "./observability/logger";
import { watchDatabasePool } from "./observability/metrics";
import { metricsRoute } from "./observability/routes";
import { createRateLimiting } from "./ratelimit/limiter";
import { gracefulShutdown, shutdownOnSignals, shutdownTimeoutFromEnv } from "./shutdown";

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger();
  const rateLimiting = await createRateLimiting(logger);
  const health = new HealthStatus();
  const core = await createCore({
    databaseUrl: config.databaseUrl,
    driver: config.sqliteDriver,
    synchronous: config.sqliteSynchronous,
    busyTimeoutMs: config.sqliteBusyTimeoutMs,
    migrate: config.migrate,
    grpcPort: config.grpcPort,
    settings: { publicBaseUrl: config.publicBaseUrl, fingerprintSecret: config.fingerprintSecret },
    rateLimiter: rateLimiting.limiter,
    webhookLimiter: rateLimiting.webhooks,
    onCall: observeCalls(logger),
    health,
  });
  const unwatchPool = watchDatabasePool(core.deps.db);

  // Raw keys go to the terminal only, never to the log.
  for (const line of describeDevMerchant(await ensureDevelopmentMerchant(core.deps.db))) console.log(line);

  const gateway = createGateway({
    dispatcher: core.pipeline,
    extraRoutes: [...healthRoutes(core.deps.db, health), metricsRoute(), ...openApiRoutes()],
    onReply: logGatewayReplies(logger),
  });
  await new Promise<void>((resolve, reject) => {
    gateway.once("error", reject);
    gateway.listen(config.port, () => resolve());
  });
  const address = gateway.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const { shutdown } = gracefulShutdown({
    logger,
    health,
    timeoutMs: shutdownTimeoutFromEnv(),
    httpServers: [gateway],
    grpcServers: core.grpcServer ? [core.grpcServer] : [],
    closers: [unwatchPool, () => core.close(), () => rateLimiting.close()],
  });
  shutdownOnSignals(shutdown);
  // Only now announce readiness: a SIGTERM from here on drains cleanly.
  logger.info(
    { event: "started", port, grpc_port: core.grpcPort, database: redactUrl(config.databaseUrl), sqlite_driver: config.sqliteDriver },
    `REST on http://localhost:${port}, gRPC on :${core.grpcPort}`,
  );
}

/** A database URL without its password, for the log. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}

main().catch((err) => {
  console.error(`Failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
