// Structured logs (pino): one JSON line per API call with the API design's
// fields, and the process's own events. Request and response bodies are never
// logged; what could still carry a secret (authorization metadata, card
// fields, keys, webhook secrets, exception text) is redacted or scrubbed here.
import { pino, stdSerializers, type Logger } from "pino";
import { httpStatusOf } from "../../gateway/errors";
import type { CallRecord } from "../pipeline/pipeline";

/** Where and how much to log. */
export interface LoggerOptions {
  /** `LOG_LEVEL` (default `info`): trace, debug, info, warn, error, fatal or silent. */
  level?: string;
  /** `LOG_FILE`: append to this file instead of stdout. */
  file?: string;
}

/** Reads LOG_LEVEL and LOG_FILE from `env` (default: process.env). */
export function loggerOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): LoggerOptions {
  return { level: env.LOG_LEVEL || "info", file: env.LOG_FILE || undefined };
}

/**
 * Field paths pino replaces with "[REDACTED]" wherever a log object carries
 * them. Explicit paths, no wildcards: wildcard paths cost pino several times
 * more per line (measured), and the call line is built from allow-listed
 * fields anyway; this is the second line of defence.
 */
export const REDACT_PATHS = [
  "authorization",
  "headers.authorization",
  "metadata.authorization",
  "req.headers.authorization",
  "card.number",
  "card.cvc",
  "payment_method.card.number",
  "payment_method.card.cvc",
  "cvc",
  "secret",
  "client_secret",
  "api_key",
  "key",
  "webhook_endpoint.secret",
];

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

/** Builds the process logger: JSON lines to stdout or LOG_FILE, at LOG_LEVEL. */
export function createLogger(options: LoggerOptions = loggerOptionsFromEnv()): Logger {
  const level = options.level ?? "info";
  if (!LEVELS.includes(level)) throw new Error(`LOG_LEVEL must be one of ${LEVELS.join(", ")}, got '${level}'`);
  // Synchronous writes: a line is on disk when the call that logged it returns,
  // so nothing is lost on exit and tests can read the file at once.
  const destination = pino.destination({ dest: options.file ?? 1, sync: true, mkdir: Boolean(options.file), append: true });
  return pino(
    {
      level,
      base: { pid: process.pid },
      messageKey: "message",
      // The API design logs `timestamp` as unix seconds (Python's time.time()).
      timestamp: () => `,"timestamp":${(Date.now() / 1000).toFixed(3)}`,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: "[REDACTED]" },
      serializers: { err: (err: Error) => scrubError(stdSerializers.err(err)) },
    },
    destination,
  );
}

// Card numbers (13–19 digits, optionally grouped), CVCs, API keys, client and
// webhook secrets and credentials as they could appear inside free text such
// as an exception message.
const CARD_NUMBER = /\b\d(?:[ -]?\d){12,18}\b/g;
const API_KEY = /\b((?:sk|pk|rk)_(?:test|live)_)[A-Za-z0-9]+/g;
const WEBHOOK_SECRET = /\bwhsec_[A-Za-z0-9+/=_-]+/g;
const CLIENT_SECRET = /(_secret_)[A-Za-z0-9]+/g;
const CVC = /\b(cvc|cvv|cvc2|cvv2|security[ _]code)(["']?\s*[:=]?\s*["']?)\d{3,4}\b/gi;
const AUTHORIZATION = /\b(Bearer|Basic)\s+[A-Za-z0-9+/=._~-]+/gi;

/** Removes card numbers, keys and secrets from free text. */
export function scrub(text: string): string {
  return text
    .replace(CARD_NUMBER, "[REDACTED_NUMBER]")
    .replace(API_KEY, (_, prefix: string) => `${prefix}[REDACTED]`)
    .replace(WEBHOOK_SECRET, "whsec_[REDACTED]")
    .replace(CLIENT_SECRET, "$1[REDACTED]")
    .replace(CVC, "$1$2[REDACTED]")
    .replace(AUTHORIZATION, "$1 [REDACTED]");
}

/** Scrubs every string inside a serialized exception (message, stack, causes, driver fields such as `sql`). */
function scrubError(value: unknown, depth = 0): any {
  if (typeof value === "string") return scrub(value);
  if (value === null || typeof value !== "object" || depth > 4) return value;
  if (Array.isArray(value)) return value.map((v) => scrubError(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = scrubError(v, depth + 1);
  return out;
}

/** The first 12 characters of the key in `authorization` (`sk_test_abcd`), as the API design logs it. */
export function apiKeyPrefix(authorization: string | undefined): string | undefined {
  const m = /^Bearer +(\S+)/i.exec(authorization ?? "");
  return m ? m[1].slice(0, 12) : undefined;
}

/** The path as logged: query values that are secrets (a PaymentIntent's client_secret) are dropped. */
function loggedPath(path: string): string {
  return scrub(path.replace(/([?&]client_secret=)[^&]*/gi, "$1[REDACTED]"));
}

/** The HTTP status a call answers with (the gateway's one table), also for gRPC callers. */
export function statusCodeOf(record: CallRecord): number {
  return httpStatusOf(record.result.code, record.result.error?.type);
}

/** Writes the one log line of a finished call: error for 5xx, warn for 4xx, info otherwise. */
export function logCall(logger: Logger, record: CallRecord, statusCode = statusCodeOf(record)): void {
  const md = record.metadata;
  const line: Record<string, unknown> = {
    // The gateway forwards the merchant's HTTP method and path; a direct gRPC call is a POST to its method path.
    method: md["x-http-method"] || "POST",
    path: loggedPath(md["x-http-path"] || record.path),
    status_code: statusCode,
    processing_time_ms: Math.round(record.processingTimeMs * 1000) / 1000,
    user_agent: md["user-agent"] ?? null,
    api_key_prefix: apiKeyPrefix(md.authorization) ?? null,
    request_id: record.result.headers["request-id"] ?? null,
    grpc_method: record.path,
    grpc_code: record.result.code,
    merchant_id: record.caller?.merchantId ?? null,
  };
  if (record.result.error) {
    line.error_type = record.result.error.type;
    line.error_code = record.result.error.code;
  }
  if (record.cause !== undefined) {
    line.err = record.cause instanceof Error ? record.cause : new Error(String(record.cause));
  }
  writeRequestLine(logger, line, statusCode);
}

function writeRequestLine(logger: Logger, line: Record<string, unknown>, statusCode: number): void {
  if (statusCode >= 500) logger.error(line, "API Error");
  else if (statusCode >= 400) logger.warn(line, "API Client Error");
  else logger.info(line, "API Request");
}

/**
 * The log line of a reply the gateway made without calling the core (unknown
 * route, malformed JSON, body too large), in the same shape as logCall's, for
 * a gateway hook to call; the core logs every call that reaches it.
 */
export function logGatewayReply(
  logger: Logger,
  reply: { method: string; path: string; statusCode: number; processingTimeMs: number; requestId: string; headers: Record<string, string | string[] | undefined> },
): void {
  const header = (name: string) => {
    const v = reply.headers[name];
    return Array.isArray(v) ? v.join(", ") : v;
  };
  const line: Record<string, unknown> = {
    method: reply.method,
    path: loggedPath(reply.path),
    status_code: reply.statusCode,
    processing_time_ms: Math.round(reply.processingTimeMs * 1000) / 1000,
    user_agent: header("user-agent") ?? null,
    api_key_prefix: apiKeyPrefix(header("authorization")) ?? null,
    request_id: reply.requestId,
    grpc_method: null,
    merchant_id: null,
  };
  writeRequestLine(logger, line, reply.statusCode);
}
