// Graceful shutdown. On SIGTERM (or SIGINT): report NOT_SERVING (gRPC health,
// /readyz 503), stop accepting connections on every server, let the calls in
// flight finish (bounded by a timeout, then cut), then close what is left in
// order (the core: background workers release their leases, then the
// database), and exit 0. A payment is written in one transaction, so a call
// cut at the deadline leaves either the whole payment or nothing.
import type http from "node:http";
import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { ServingStatus, type HealthStatus } from "./health/grpc";

/** What graceful shutdown stops, and how long it waits. */
export interface ShutdownOptions {
  logger: Logger;
  /** How long calls in flight may take to finish (`SHUTDOWN_TIMEOUT_MS`, default 10000). */
  timeoutMs?: number;
  health?: HealthStatus;
  /** HTTP servers (the REST gateway): stop accepting, drain keep-alive connections. */
  httpServers?: http.Server[];
  /** gRPC servers: stop accepting, let calls finish. */
  grpcServers?: grpc.Server[];
  /** Run in order once the servers are drained: workers, then the core and its database. */
  closers?: Array<() => Promise<void> | void>;
  /** Default process.exit. */
  exit?: (code: number) => void;
}

/** Reads SHUTDOWN_TIMEOUT_MS (default 10 s). */
export function shutdownTimeoutFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SHUTDOWN_TIMEOUT_MS;
  if (!raw) return 10_000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`SHUTDOWN_TIMEOUT_MS must be a non-negative integer, got '${raw}'`);
  return n;
}

function drainHttp(server: http.Server, deadline: Promise<void>): Promise<boolean> {
  if (!server.listening) return Promise.resolve(true);
  return new Promise((resolve) => {
    let done = false;
    // close() stops accepting and resolves once every connection is gone;
    // keep-alive connections that turn idle after their last response are
    // closed as they do, so clients reconnect elsewhere.
    server.close(() => {
      done = true;
      clearInterval(idle);
      resolve(true);
    });
    server.closeIdleConnections();
    const idle = setInterval(() => server.closeIdleConnections(), 25);
    void deadline.then(() => {
      if (done) return;
      clearInterval(idle);
      server.closeAllConnections();
      resolve(false);
    });
  });
}

function drainGrpc(server: grpc.Server, deadline: Promise<void>): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    server.tryShutdown(() => {
      done = true;
      resolve(true);
    });
    void deadline.then(() => {
      if (done) return;
      server.forceShutdown();
      resolve(false);
    });
  });
}

/** Builds the shutdown sequence; `shutdown()` runs it once and exits (0, or 1 if closing failed). */
export function gracefulShutdown(options: ShutdownOptions): { shutdown(reason?: string): Promise<number> } {
  let running: Promise<number> | undefined;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const timeoutMs = options.timeoutMs ?? 10_000;

  async function run(reason: string): Promise<number> {
    const { logger } = options;
    const started = Date.now();
    logger.info({ event: "shutdown_started", reason, timeout_ms: timeoutMs }, "Shutting down: no new connections, finishing calls in flight");
    options.health?.setAll(ServingStatus.NOT_SERVING);

    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    const drained = await Promise.all([
      ...(options.httpServers ?? []).map((s) => drainHttp(s, deadline)),
      ...(options.grpcServers ?? []).map((s) => drainGrpc(s, deadline)),
    ]);
    clearTimeout(timer);
    if (drained.includes(false)) {
      logger.warn({ event: "shutdown_forced", timeout_ms: timeoutMs }, "Calls still in flight at the shutdown deadline were cut");
    }

    let code = 0;
    for (const close of options.closers ?? []) {
      try {
        await close();
      } catch (err) {
        code = 1;
        logger.error({ event: "shutdown_close_failed", err }, "A component failed to close");
      }
    }
    logger.info({ event: "shutdown_finished", duration_ms: Date.now() - started, exit_code: code }, "Shut down");
    return code;
  }

  return {
    shutdown(reason = "requested") {
      running ??= run(reason).then((code) => {
        exit(code);
        return code;
      });
      return running;
    },
  };
}

/** Runs `shutdown` on SIGTERM and SIGINT; a second signal exits at once. */
export function shutdownOnSignals(shutdown: (reason: string) => Promise<number>, signals: NodeJS.Signals[] = ["SIGTERM", "SIGINT"]): void {
  let received = false;
  for (const signal of signals) {
    process.on(signal, () => {
      if (received) process.exit(1);
      received = true;
      void shutdown(signal);
    });
  }
}
