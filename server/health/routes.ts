// /healthz and /readyz for the gateway's extraRoutes. /healthz says the
// process answers; /readyz also checks the database and migrations, and turns
// 503 as soon as shutdown begins so a load balancer stops sending traffic.
import type { Knex } from "knex";
import type { ExtraRoute } from "../../gateway/server";
import { checkReadiness } from "./checks";
import { ServingStatus, type HealthStatus } from "./grpc";

function json(res: import("node:http").ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), "Cache-Control": "no-store" });
  res.end(text);
}

/** GET /healthz (alive) and GET /readyz (database reachable, migrations applied, not shutting down). */
export function healthRoutes(db: Knex, health?: HealthStatus): ExtraRoute[] {
  return [
    { method: "GET", path: "/healthz", handle: (_req, res) => json(res, 200, { status: "ok" }) },
    {
      method: "GET",
      path: "/readyz",
      handle: async (_req, res) => {
        if (health && health.get("") === ServingStatus.NOT_SERVING) {
          return json(res, 503, { status: "shutting_down", checks: {} });
        }
        const readiness = await checkReadiness(db);
        json(res, readiness.ready ? 200 : 503, { status: readiness.ready ? "ready" : "not_ready", checks: readiness.checks });
      },
    },
  ];
}
