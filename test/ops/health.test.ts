// grpc.health.v1.Health on the core's gRPC server, called with hand-encoded
// bytes (independent of the server's codec), and /readyz turning 503 when the
// database has pending migrations, is gone, or shutdown has begun.
import type http from "node:http";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import knex from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway } from "../../gateway/server";
import { HealthStatus, ServingStatus } from "../../server/health/grpc";
import { checkReadiness } from "../../server/health/checks";
import { healthRoutes } from "../../server/health/routes";
import { startTestCore, type TestCore } from "../support/core";

const health = new HealthStatus();
let core: TestCore;
let client: grpc.Client;

const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };

/** HealthCheckRequest{service} by hand: field 1, length-delimited. */
function request(service: string): Buffer {
  const s = Buffer.from(service);
  return service ? Buffer.concat([Buffer.from([0x0a, s.length]), s]) : Buffer.alloc(0);
}

function check(service: string): Promise<{ status?: number; code?: number }> {
  return new Promise((resolve) =>
    client.makeUnaryRequest("/grpc.health.v1.Health/Check", raw.serialize, raw.deserialize, request(service), (err, res) => {
      if (err) return resolve({ code: err.code });
      // HealthCheckResponse{status}: field 1 varint (absent = UNKNOWN = 0).
      resolve({ status: res!.length === 0 ? 0 : (expect(res![0]).toBe(0x08), res![1]) });
    }),
  );
}

beforeAll(async () => {
  core = await startTestCore({ health });
  client = new grpc.Client(core.grpcAddress, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  await core?.close();
});

describe("grpc.health.v1.Health", () => {
  it("answers SERVING for the server and for each payments service", async () => {
    expect(await check("")).toEqual({ status: ServingStatus.SERVING });
    expect(await check("payments.v1.PaymentIntentService")).toEqual({ status: ServingStatus.SERVING });
    expect(await check("payments.v1.RefundService")).toEqual({ status: ServingStatus.SERVING });
  });

  it("answers NOT_FOUND for an unknown service", async () => {
    expect(await check("payments.v1.NoSuchService")).toEqual({ code: grpc.status.NOT_FOUND });
  });

  it("streams status changes to a Watch", async () => {
    const call = client.makeServerStreamRequest("/grpc.health.v1.Health/Watch", raw.serialize, raw.deserialize, request("payments.v1.ChargeService"));
    const seen: number[] = [];
    const twoSeen = new Promise<void>((resolve) =>
      call.on("data", (b: Buffer) => {
        seen.push(b.length === 0 ? 0 : b[1]);
        if (seen.length === 1) health.set("payments.v1.ChargeService", ServingStatus.NOT_SERVING);
        if (seen.length === 2) resolve();
      }),
    );
    call.on("error", () => undefined);
    await twoSeen;
    call.cancel();
    expect(seen).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    health.set("payments.v1.ChargeService", ServingStatus.SERVING);
  });
});

describe("/readyz", () => {
  let gateway: http.Server;
  let base: string;
  beforeAll(async () => {
    gateway = createGateway({ dispatcher: core.pipeline, extraRoutes: healthRoutes(core.deps.db, health) });
    await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => gateway.close(resolve)));

  it("is 503 with the pending migration named when one is not applied", async () => {
    await core.deps.db("knex_migrations").where({ name: "003_events" }).delete();
    try {
      const res = await fetch(`${base}/readyz`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { status: string; checks: unknown };
      expect(body.status).toBe("not_ready");
      expect(body.checks).toEqual({ database: "ok", migrations: "pending: 003_events" });
    } finally {
      await core.deps.db("knex_migrations").insert({ name: "003_events", batch: 1, migration_time: new Date() });
    }
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it("is 503 once shutdown began (NOT_SERVING) while /healthz stays 200", async () => {
    health.setAll(ServingStatus.NOT_SERVING);
    try {
      const res = await fetch(`${base}/readyz`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { status: string }).status).toBe("shutting_down");
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect(await check("")).toEqual({ status: ServingStatus.NOT_SERVING });
    } finally {
      health.setAll(ServingStatus.SERVING);
    }
  });
});

describe("readiness on other databases", () => {
  it("is ready on PostgreSQL once migrated", async () => {
    const pg = await startTestCore({ backend: "postgres", webhookWorker: false });
    try {
      expect(await checkReadiness(pg.deps.db)).toEqual({ ready: true, checks: { database: "ok", migrations: "ok" } });
    } finally {
      await pg.close();
    }
  });

  it("is not ready when the database cannot be reached, and says so", async () => {
    const unreachable = knex({ client: "pg", connection: "postgres://postgres@127.0.0.1:1/nope", pool: { min: 0, max: 1 }, acquireConnectionTimeout: 1500 });
    try {
      const readiness = await checkReadiness(unreachable);
      expect(readiness.ready).toBe(false);
      expect(readiness.checks.database).toMatch(/^unreachable: /);
      expect(readiness.checks.migrations).toBe("unknown");
    } finally {
      await unreachable.destroy();
    }
  });
});
