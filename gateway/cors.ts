// CORS for the REST API: browsers on merchants' sites call it with a
// publishable key (the SDK's createPaymentMethod, confirm with a client
// secret). Keys travel in the Authorization header, never in cookies, so any
// origin may call; the envoy.yaml CORS policy says the same (a test compares them).
import type http from "node:http";

/** Request headers a browser may send (Access-Control-Allow-Headers). */
export const CORS_ALLOW_HEADERS = "authorization,content-type,idempotency-key,x-request-id";

/** Response headers a browser may read (Access-Control-Expose-Headers). */
export const CORS_EXPOSE_HEADERS = "request-id,idempotent-replayed,ratelimit-limit,ratelimit-remaining,ratelimit-reset,retry-after";

/** How long a browser may cache a preflight answer, in seconds. */
export const CORS_MAX_AGE = "600";

/** Adds the CORS headers of an actual (non-preflight) response to `headers`, when the request has an Origin. */
export function corsHeaders(req: http.IncomingMessage, headers: http.OutgoingHttpHeaders): http.OutgoingHttpHeaders {
  const origin = req.headers.origin;
  if (origin !== undefined) {
    headers["Access-Control-Allow-Origin"] = origin;
    headers["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS;
    headers.Vary = "Origin";
  }
  return headers;
}

/** The headers of a preflight answer for a path that allows `methods`. */
export function preflightHeaders(req: http.IncomingMessage, methods: string): http.OutgoingHttpHeaders {
  return {
    "Access-Control-Allow-Origin": req.headers.origin ?? "*",
    "Access-Control-Allow-Methods": methods,
    "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
    "Access-Control-Max-Age": CORS_MAX_AGE,
    Vary: "Origin",
  };
}
