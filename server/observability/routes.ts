// GET /metrics for the gateway's extraRoutes: the process's Prometheus text.
import type { ExtraRoute } from "../../gateway/server";
import { metricsText } from "./metrics";

/** GET /metrics in Prometheus text format. */
export function metricsRoute(): ExtraRoute {
  return {
    method: "GET",
    path: "/metrics",
    handle: async (_req, res) => {
      const { contentType, body } = await metricsText();
      res.writeHead(200, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store" });
      res.end(body);
    },
  };
}
