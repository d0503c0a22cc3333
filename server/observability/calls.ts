// The pipeline's onCall hook: each finished call becomes one log line and its
// request metrics, with the same HTTP status equivalent in both. The REST
// gateway's own replies (unknown route, bad JSON: the core never sees them)
// get their line from logGatewayReplies.
import type http from "node:http";
import type { Logger } from "pino";
import type { CallRecord } from "../pipeline/pipeline";
import { logCall, logGatewayReply, statusCodeOf } from "./logger";
import { recordRequest } from "./metrics";

/** Request ids of gateway calls the core has logged, until their HTTP reply closes. */
const loggedByCore = new Set<string>();

/** Builds PipelineOptions.onCall: logs the call and counts it. */
export function observeCalls(logger: Logger): (record: CallRecord) => void {
  let failures = 0;
  return (record) => {
    // The call has been answered: a failing log or metric must never turn it into an error.
    try {
      const statusCode = statusCodeOf(record);
      logCall(logger, record, statusCode);
      // Unknown paths are one series, so a client cannot grow the label set at will.
      recordRequest(record.method?.path ?? "unknown", statusCode, record.processingTimeMs / 1000);
      const requestId = record.result.headers["request-id"];
      if (record.metadata["x-http-method"] && requestId) loggedByCore.add(requestId);
    } catch (err) {
      if (failures++ === 0) process.emitWarning(`request log/metrics failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
}

/** Logs the failed replies `server` (the REST gateway) made without calling the core, one line each. */
export function logGatewayReplies(server: http.Server, logger: Logger): void {
  // Ahead of the gateway's own handler, which may answer synchronously.
  server.prependListener("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const started = performance.now();
    // The gateway passes its headers to writeHead, where getHeader() cannot see them.
    let requestId = "";
    const writeHead = res.writeHead;
    res.writeHead = function (this: http.ServerResponse, ...args: unknown[]) {
      const headers = args.find((a) => a && typeof a === "object" && !Array.isArray(a)) as Record<string, unknown> | undefined;
      for (const name in headers ?? {}) if (name.toLowerCase() === "request-id") requestId = String(headers![name]);
      return (writeHead as (...a: unknown[]) => http.ServerResponse).apply(this, args);
    } as typeof res.writeHead;
    res.once("close", () => {
      requestId ||= String(res.getHeader("request-id") ?? "");
      if (loggedByCore.delete(requestId) || res.statusCode < 400) return;
      try {
        logGatewayReply(logger, {
          method: req.method ?? "GET",
          path: (req.url ?? "/").split("?")[0],
          statusCode: res.statusCode,
          processingTimeMs: performance.now() - started,
          requestId,
          headers: req.headers,
        });
      } catch {
        // Never let logging break the server.
      }
    });
  });
}
