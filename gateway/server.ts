// The REST gateway: node:http in front of a Dispatcher (the core's pipeline
// in the same process, or a remote core over gRPC). It does what Envoy's
// grpc_json_transcoder does, from the same descriptors: route by the
// google.api.http rules, build the request message, forward headers as
// metadata, print the response, and map failures to the API's error body.
import http from "node:http";
import type { FileRegistry } from "@bufbuild/protobuf";
import type { CallResult, Dispatcher, Metadata } from "../server/pipeline/types";
import { corsHeaders, preflightHeaders } from "./cors";
import { loadRegistry } from "./descriptors";
import { decodeStatusDetails, errorBody, fallbackDetail, gatewayErrors, httpStatusOf, newGatewayRequestId } from "./errors";
import type { Router } from "./http-rule";
import { buildRouter, decodeResponse, encodeRequest, GatewayError, type Route } from "./transcoder";
import type { ErrorDetail } from "../gen/payments/v1/common";

/** A route outside the contract (e.g. /healthz, /metrics, /openapi.json), matched on exact method and path. */
export interface ExtraRoute {
  method: string;
  path: string;
  handle(req: http.IncomingMessage, res: http.ServerResponse): void | Promise<void>;
}

export interface GatewayOptions {
  /** Where calls go: the in-process pipeline or a remote core (gateway/grpc-dispatcher.ts). */
  dispatcher: Dispatcher;
  /** Routes served beside the API; they win over annotated routes with the same method and path. */
  extraRoutes?: ExtraRoute[];
  /** The descriptors to route by (default: gen/payments.binpb). */
  registry?: FileRegistry;
  /** The largest request body accepted, in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /**
   * Called once for each reply the gateway made itself, with no answer from the
   * core: its own errors (unknown route, method not allowed, bad JSON, body too
   * large, core unreachable, internal) and failed extra routes. The core logs
   * every call it answers, so with both hooks each request gets one log line,
   * with no state shared between gateway and core (they may be two processes).
   */
  onReply?: (reply: GatewayReply) => void;
}

/** A reply the gateway made without the core, for its request log. */
export interface GatewayReply {
  method: string;
  /** The path without the query string. */
  path: string;
  statusCode: number;
  processingTimeMs: number;
  requestId: string;
  headers: http.IncomingHttpHeaders;
}

/** The default request body limit: 1 MiB. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Headers of every google.api.HttpBody response (the receipt page): its bytes
 * are served as the core's content type says, never sniffed into something
 * else, and the page may load nothing at all; its only style is inline
 * (server/receipts/mapper.ts), no scripts, images, fonts or frames. Mirrored
 * in gateway/envoy/envoy.yaml.
 */
export const HTTP_BODY_HEADERS: Readonly<Record<string, string>> = {
  "X-Content-Type-Options": "nosniff",
  "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

// Headers that describe one HTTP hop, not the request: never forwarded as metadata.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
  "expect",
  "http2-settings",
]);

const REQUEST_ID = /^[A-Za-z0-9_\-]{8,64}$/;

/** Request headers → call metadata: lower-case names, hop-by-hop and gRPC-reserved ones dropped. */
export function headersToMetadata(headers: http.IncomingHttpHeaders): Metadata {
  const md: Metadata = {};
  const connection = headers.connection;
  const listed = connection ? new Set(connection.toLowerCase().split(",").map((s) => s.trim())) : undefined;
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || name.startsWith("grpc-") || name.endsWith("-bin") || listed?.has(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    md[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return md;
}

/** Response metadata → HTTP headers (`request-id` as `Request-Id`; gRPC-reserved names dropped). */
function responseHeaders(result: Record<string, string>, into: http.OutgoingHttpHeaders): http.OutgoingHttpHeaders {
  for (const name in result) {
    if (name === "request-id") into["Request-Id"] = result[name];
    else if (!name.startsWith("grpc-") && !name.startsWith(":") && name !== "content-type" && name !== "content-length") into[name] = result[name];
  }
  return into;
}

function requestIdFor(req: http.IncomingMessage): string {
  const given = req.headers["x-request-id"];
  return typeof given === "string" && REQUEST_ID.test(given) ? given : newGatewayRequestId();
}

function sendError(res: http.ServerResponse, status: number, detail: ErrorDetail, requestId: string, extra: http.OutgoingHttpHeaders = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(detail, requestId);
  corsHeaders(res.req, extra);
  res.writeHead(status, {
    ...extra,
    "Request-Id": requestId,
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * A failed call → the HTTP status and `{"error": {...}}` body. Returns the
 * reply when the gateway made it itself: the core stamps a `request-id` on
 * every call it answers, so a result without one never reached it (or its
 * answer never came back) and the core has not logged it.
 */
function sendCallError(res: http.ServerResponse, result: CallResult, req: http.IncomingMessage): [number, string] | undefined {
  const detail =
    result.error ?? (result.statusDetails && decodeStatusDetails(result.statusDetails)) ?? fallbackDetail(result.code, result.message);
  const answered = result.headers["request-id"];
  const requestId = answered ?? detail.request_id ?? requestIdFor(req);
  const status = httpStatusOf(result.code, detail.type);
  sendError(res, status, detail, requestId, responseHeaders(result.headers, {}));
  return answered ? undefined : [status, requestId];
}

/** Reads the request body, up to `limit` bytes; undefined when there is none. */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(GatewayError.of(gatewayErrors.bodyTooLarge(limit)));
  if (declared === "0" || (declared === undefined && req.headers["transfer-encoding"] === undefined)) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        reject(GatewayError.of(gatewayErrors.bodyTooLarge(limit)));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
    req.on("error", reject);
  });
}

/** One request's start time, and whether its reply has been reported to onReply. */
interface ReplyState {
  started: number;
  reported: boolean;
}

/** Creates the REST gateway's HTTP server (not listening yet). */
export function createGateway(options: GatewayOptions): http.Server {
  const router: Router<Route> = buildRouter(options.registry ?? loadRegistry());
  const { dispatcher } = options;
  const limit = options.maxBodyBytes ?? MAX_BODY_BYTES;
  // Every method the API uses, for CORS preflights (the same list as envoy.yaml's CORS policy).
  const corsMethods = router.methods().join(",");
  const extras = new Map<string, ExtraRoute>();
  for (const r of options.extraRoutes ?? []) extras.set(`${r.method.toUpperCase()} ${r.path}`, r);
  const onReply = options.onReply;

  /** Reports a reply the gateway made itself, at the moment it makes it. */
  function report(req: http.IncomingMessage, at: ReplyState, statusCode: number, requestId: string): void {
    // Once per request: a failing extra route is reported on "finish", which
    // also fires after the catch-all 500 that a throwing handler gets.
    if (!onReply || at.reported) return;
    at.reported = true;
    try {
      const url = req.url ?? "/";
      const q = url.indexOf("?");
      onReply({
        method: req.method ?? "GET",
        path: q < 0 ? url : url.slice(0, q),
        statusCode,
        processingTimeMs: performance.now() - at.started,
        requestId,
        headers: req.headers,
      });
    } catch {
      // The reply is sent: a failing hook must never break the server.
    }
  }

  /** Sends one of the gateway's own errors and reports it. */
  function sendOwnError(req: http.IncomingMessage, res: http.ServerResponse, at: ReplyState, status: number, detail: ErrorDetail, extra: http.OutgoingHttpHeaders = {}): void {
    const requestId = requestIdFor(req);
    sendError(res, status, detail, requestId, extra);
    report(req, at, status, requestId);
  }

  /** A failed call's reply, reported when the core did not answer it. */
  function sendFailedCall(req: http.IncomingMessage, res: http.ServerResponse, at: ReplyState, result: CallResult): void {
    const own = sendCallError(res, result, req);
    if (own) report(req, at, own[0], own[1]);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, at: ReplyState): Promise<void> {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? "" : url.slice(q + 1);
    const method = req.method ?? "GET";

    const extra = extras.size > 0 ? extras.get(`${method} ${path}`) : undefined;
    if (extra) {
      // Every response carries a request id, the routes beside the API too.
      const requestId = requestIdFor(req);
      res.setHeader("Request-Id", requestId);
      // A failed extra route (/readyz not ready, /metrics without its token) is the gateway's own reply.
      if (onReply) res.once("finish", () => res.statusCode >= 400 && report(req, at, res.statusCode, requestId));
      return extra.handle(req, res);
    }

    const match = router.match(method, path);
    if (!match) {
      const allow = router.allowed(path);
      if (method === "OPTIONS" && allow.length > 0) {
        // A CORS preflight (or a plain OPTIONS): which methods the path takes.
        res.writeHead(200, { ...preflightHeaders(req, corsMethods), Allow: allow.join(", "), "Request-Id": requestIdFor(req), "Content-Length": 0 });
        res.end();
        return;
      }
      if (allow.length > 0) {
        const [status, detail] = gatewayErrors.methodNotAllowed(method, path, allow);
        return sendOwnError(req, res, at, status, detail, { Allow: allow.join(", ") });
      }
      const [status, detail] = gatewayErrors.routeNotFound(method, path);
      return sendOwnError(req, res, at, status, detail);
    }
    const route = match.value;
    let request: Uint8Array;
    try {
      const body = route.rule.body ? await readBody(req, limit) : undefined;
      request = encodeRequest(route, match.bindings, query, body);
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      const headers: http.OutgoingHttpHeaders = err.status === 413 ? { Connection: "close" } : {};
      return sendOwnError(req, res, at, err.status, err.detail, headers);
    }
    const metadata = headersToMetadata(req.headers);
    // The merchant's method and path, for the core's log line (replacing any sent by the client).
    metadata["x-http-method"] = method;
    metadata["x-http-path"] = path;
    if (route.serverStreaming) return stream(req, res, route, request, metadata, at);

    const result = await dispatcher.unary(route.rpcPath, request, metadata);
    if (result.code !== 0 || !result.response) return sendFailedCall(req, res, at, result);
    const out = decodeResponse(route, result.response);
    const headers = responseHeaders(result.headers, corsHeaders(req, {}));
    headers["Content-Type"] = out.contentType;
    headers["Content-Length"] = typeof out.body === "string" ? Buffer.byteLength(out.body) : out.body.byteLength;
    if (route.httpBody) Object.assign(headers, HTTP_BODY_HEADERS);
    headers["Request-Id"] ??= requestIdFor(req);
    res.writeHead(200, headers);
    res.end(out.body);
  }

  /** A server-streaming RPC as Server-Sent Events: one `data: <json>` line and a blank line per message. */
  async function stream(req: http.IncomingMessage, res: http.ServerResponse, route: Route, request: Uint8Array, metadata: Metadata, at: ReplyState): Promise<void> {
    const abort = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) abort.abort();
    });
    let begun = false;
    const start = (headers: Record<string, string>) => {
      if (begun) return;
      begun = true;
      const out = responseHeaders(headers, corsHeaders(req, {}));
      out["Request-Id"] ??= requestIdFor(req);
      out["Content-Type"] = "text/event-stream";
      out["Cache-Control"] = "no-cache";
      res.writeHead(200, out);
      res.flushHeaders();
    };
    const result = await dispatcher.serverStream(route.rpcPath, request, metadata, {
      signal: abort.signal,
      sendHeaders: start,
      write: (message) => {
        if (abort.signal.aborted) return;
        start({});
        const { body } = decodeResponse(route, message);
        if (res.write(`data: ${body}\n\n`)) return;
        return new Promise<void>((resolve) => {
          const done = () => {
            res.off("drain", done);
            res.off("close", done);
            resolve();
          };
          res.on("drain", done);
          res.on("close", done);
        });
      },
    });
    if (abort.signal.aborted) return;
    if (!begun) {
      if (result.code !== 0) return sendFailedCall(req, res, at, result);
      start(result.headers);
    } else if (result.code !== 0) {
      // Headers are gone: the error travels as a last event, in the same error format.
      const detail = result.error ?? (result.statusDetails && decodeStatusDetails(result.statusDetails)) ?? fallbackDetail(result.code, result.message);
      res.write(`event: error\ndata: ${errorBody(detail, result.headers["request-id"] ?? requestIdFor(req))}\n\n`);
    }
    res.end();
  }

  const server = http.createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    const at: ReplyState = { started: performance.now(), reported: false };
    handle(req, res, at).catch(() => {
      // A bug or a throwing dispatcher: never a stack trace, always the error format.
      const [status, detail] = gatewayErrors.internal();
      sendOwnError(req, res, at, status, detail);
    });
  });
  server.keepAliveTimeout = 65_000;
  // Requests node:http cannot parse never reach the handler: answer them in the error format too.
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || err.code === "ECONNRESET") {
      socket.destroy();
      return;
    }
    const tooLarge = err.code === "HPE_HEADER_OVERFLOW";
    const status = tooLarge ? 431 : 400;
    const requestId = newGatewayRequestId();
    const body = errorBody(
      {
        type: "invalid_request_error",
        code: tooLarge ? "request_headers_too_large" : "malformed_request",
        message: tooLarge ? "The request headers are too large." : "The request is not valid HTTP.",
      },
      requestId,
    );
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nRequest-Id: ${requestId}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  return server;
}
