// GET /metrics for the gateway's extraRoutes: the process's Prometheus text.
// The numbers are platform-wide (volumes, decline rates of every merchant), so
// with METRICS_TOKEN set the route wants `Authorization: Bearer <token>`.
import { createHash, timingSafeEqual } from "node:crypto";
import { errorBody, gatewayErrors, newGatewayRequestId } from "../../gateway/errors";
import type { ExtraRoute } from "../../gateway/server";
import { metricsText } from "./metrics";

/** Options of metricsRoute. */
export interface MetricsRouteOptions {
  /** The bearer token a scrape must send; unset (or empty) serves /metrics to anyone. Default: `METRICS_TOKEN`. */
  token?: string;
}

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/** GET /metrics in Prometheus text format, behind a bearer token when one is configured. */
export function metricsRoute(options: MetricsRouteOptions = { token: process.env.METRICS_TOKEN }): ExtraRoute {
  // Compared as SHA-256 digests: equal lengths for timingSafeEqual, and no timing leak of the token's length.
  const expected = options.token ? digest(options.token) : undefined;
  return {
    method: "GET",
    path: "/metrics",
    handle: async (req, res) => {
      if (expected) {
        // The auth scheme is case-insensitive (RFC 9110); the token is not.
        const given = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? "")?.[1];
        if (!given || !timingSafeEqual(digest(given), expected)) {
          const [status, detail] = gatewayErrors.metricsUnauthorized();
          const body = errorBody(detail, String(res.getHeader("request-id") ?? newGatewayRequestId()));
          res.writeHead(status, {
            "Content-Type": "application/json",
            "Content-Length": Buffer.byteLength(body),
            "WWW-Authenticate": 'Bearer realm="metrics"',
            "Cache-Control": "no-store",
          });
          res.end(body);
          return;
        }
      }
      const { contentType, body } = await metricsText();
      res.writeHead(200, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store" });
      res.end(body);
    },
  };
}
