// Graceful shutdown. On SIGTERM (or SIGINT): report NOT_SERVING (gRPC health,
// /readyz 503), stop accepting connections on every server, let the calls in
// flight finish (bounded by a timeout, then cut), then close what is left in
// order (the core: background workers release their leases, then the
// database), and exit 0. A payment is written in one transaction, so a call
// cut at the deadline leaves either the whole payment or nothing.
import type http from "node:http";
import type { Socket } from "node:net";
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

/**
 * Follows an HTTP server's connections so that shutdown can close the idle
 * keep-alive ones without touching a connection whose first request has not
 * been read yet (Node's closeIdleConnections() counts those as idle and
 * resets them, which a client sees as a request cut mid-way).
 */
function trackConnections(server: http.Server): { drain(deadline: Promise<void>): Promise<boolean> } {
  const inFlight = new Map<Socket, number>();
  const served = new WeakSet<Socket>();
  const answering = new Set<http.ServerResponse>();
  let closing = false;
  server.on("connection", (socket: Socket) => {
    inFlight.set(socket, 0);
    socket.once("close", () => inFlight.delete(socket));
  });
  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    served.add(socket);
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    // Once closing, every answer ends its connection; the client reconnects elsewhere.
    if (closing && !res.headersSent) res.setHeader("Connection", "close");
    answering.add(res);
    res.once("close", () => {
      answering.delete(res);
      const left = (inFlight.get(socket) ?? 1) - 1;
      inFlight.set(socket, left);
      if (closing && left === 0) socket.end();
    });
  });
  return {
    drain(deadline) {
      closing = true;
      // Calls in flight tell keep-alive clients not to send another request on this connection.
      for (const res of answering) if (!res.headersSent) res.setHeader("Connection", "close");
      return new Promise((resolve) => {
        let done = false;
        // close() stops accepting and calls back once every connection is gone.
        server.close(() => {
          done = true;
          resolve(true);
        });
        for (const [socket, count] of inFlight) if (count === 0 && served.has(socket)) socket.end();
        void deadline.then(() => {
          if (done) return;
          server.closeAllConnections();
          resolve(false);
        });
      });
    },
  };
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
  // Connections are followed from now on (build this right after the servers start listening).
  const httpServers = (options.httpServers ?? []).map(trackConnections);
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
      ...httpServers.map((s) => s.drain(deadline)),
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
