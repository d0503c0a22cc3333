// The request log with the gateway apart from the core (`npm run gateway`,
// GRPC_TARGET): the core logs each call it answers, the gateway each reply it
// made itself, with no state shared between them; so many requests leave
// nothing behind and each request id has exactly one line, even when clients
// choose colliding request ids or call the core directly with the gateway's
// x-http-* metadata.
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CustomerServiceClient } from "../../gen/payments/v1/customers";
import { createGrpcDispatcher, type GrpcDispatcher } from "../../gateway/grpc-dispatcher";
import { createGateway } from "../../gateway/server";
import { logGatewayReplies, observeCalls } from "../../server/observability/calls";
import { call } from "../support/grpc";
import { startTestCore, type TestCore } from "../support/core";
import { fileLogger } from "./helpers";

const log = fileLogger();
let core: TestCore;
let dispatcher: GrpcDispatcher;
let deadDispatcher: GrpcDispatcher;
let gateway: http.Server;
let deadGateway: http.Server;
let base: string;
let deadBase: string;

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

beforeAll(async () => {
  core = await startTestCore({ onCall: observeCalls(log.logger) });
  dispatcher = createGrpcDispatcher(core.grpcAddress);
  gateway = createGateway({
    dispatcher,
    maxBodyBytes: 1024,
    onReply: logGatewayReplies(log.logger),
    // Routes beside the API: one not ready, one that throws (the gateway's catch-all 500).
    extraRoutes: [
      { method: "GET", path: "/not_ready", handle: (_req, res) => void res.writeHead(503, { "Content-Length": 0 }).end() },
      {
        method: "GET",
        path: "/throws",
        handle: async () => {
          throw new Error("extra route failed");
        },
      },
    ],
  });
  base = await listen(gateway);
  deadDispatcher = createGrpcDispatcher(`127.0.0.1:${await closedPort()}`);
  deadGateway = createGateway({ dispatcher: deadDispatcher, onReply: logGatewayReplies(log.logger) });
  deadBase = await listen(deadGateway);
});

afterAll(async () => {
  await new Promise((resolve) => gateway?.close(resolve));
  await new Promise((resolve) => deadGateway?.close(resolve));
  dispatcher?.close();
  deadDispatcher?.close();
  await core?.close();
  log.remove();
});

/** Waits until every id has a log line; the lines are written as the replies are made. */
async function linesFor(ids: string[]): Promise<Map<string, Array<Record<string, any>>>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const byId = new Map<string, Array<Record<string, any>>>();
    for (const line of log.lines()) {
      const list = byId.get(line.request_id) ?? [];
      list.push(line);
      byId.set(line.request_id, list);
    }
    if (ids.every((id) => byId.has(id)) || Date.now() > deadline) return byId;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("request log through a remote-dispatch gateway", () => {
  it("writes exactly one line per request, from the core or from the gateway", async () => {
    const key = core.keys.secret;
    const kinds = [
      { name: "ok", status: 200, by: "core", init: { method: "GET" }, path: "/v1/customers?limit=1" },
      { name: "missing", status: 404, by: "core", init: { method: "GET" }, path: "/v1/customers/cus_missing" },
      { name: "route", status: 404, by: "gateway", init: { method: "GET" }, path: "/v1/no_such_thing" },
      { name: "method", status: 405, by: "gateway", init: { method: "DELETE" }, path: "/v1/customers" },
      { name: "json", status: 400, by: "gateway", init: { method: "POST", body: "{not json" }, path: "/v1/customers" },
      { name: "extra", status: 503, by: "gateway", init: { method: "GET" }, path: "/not_ready" },
      { name: "throws", status: 500, by: "gateway", init: { method: "GET" }, path: "/throws" },
      { name: "large", status: 413, by: "gateway", init: { method: "POST", body: JSON.stringify({ description: "x".repeat(2048) }) }, path: "/v1/customers" },
    ] as const;
    const sent: Array<{ id: string; status: number; by: string; path: string }> = [];
    const rounds = 40;
    for (let round = 0; round < rounds; round++) {
      await Promise.all(
        kinds.map(async (kind) => {
          const id = `req_remote_${kind.name}_${round}`;
          const res = await fetch(`${base}${kind.path}`, {
            ...kind.init,
            headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json", "X-Request-Id": id },
          });
          await res.arrayBuffer();
          expect(res.headers.get("request-id")).toBe(id);
          // The rate limiter may answer a core call with 429: still the core's reply.
          if (res.status !== 429) expect(res.status).toBe(kind.status);
          sent.push({ id, status: res.status, by: kind.by, path: kind.path.split("?")[0] });
        }),
      );
    }
    // The core unreachable: the gateway answers 503 and logs it, once.
    const down = await fetch(`${deadBase}/v1/customers`, { headers: { Authorization: `Bearer ${key}`, "X-Request-Id": "req_remote_core_down" } });
    expect(down.status).toBe(503);
    await down.arrayBuffer();
    sent.push({ id: "req_remote_core_down", status: 503, by: "gateway", path: "/v1/customers" });

    const byId = await linesFor(sent.map((s) => s.id));
    for (const s of sent) {
      const lines = byId.get(s.id) ?? [];
      expect(lines, s.id).toHaveLength(1);
      expect(lines[0]).toMatchObject({ request_id: s.id, status_code: s.status, path: s.path, api_key_prefix: key.slice(0, 12) });
      if (s.by === "gateway") expect(lines[0].grpc_method).toBeNull();
      else expect(lines[0].grpc_method).toMatch(/^\/payments\.v1\.CustomerService\//);
    }
    expect(JSON.stringify(log.lines())).not.toContain(key);
  });

  it("does not let a client-chosen request id or x-http-* metadata suppress another request's line", async () => {
    // A direct gRPC caller sending the gateway's metadata: the old design remembered its id forever.
    const client = new CustomerServiceClient(core.grpcAddress, grpc.credentials.createInsecure());
    try {
      for (let i = 0; i < 3; i++) {
        const md = core.metadata(core.keys.secret, { "x-http-method": "GET", "x-http-path": "/v1/customers", "x-request-id": "req_collide_00001" });
        const out = await call(client, "listCustomers", { limit: 1 } as never, md);
        expect(out.error).toBeUndefined();
      }
    } finally {
      client.close();
    }
    // Then REST requests reusing that id: each still gets its own line.
    for (const path of ["/v1/no_such_thing", "/v1/customers/cus_missing"]) {
      const res = await fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${core.keys.secret}`, "X-Request-Id": "req_collide_00001" } });
      expect(res.status).toBe(404);
      await res.arrayBuffer();
    }
    const deadline = Date.now() + 10_000;
    let lines: Array<Record<string, any>> = [];
    while ((lines = log.lines().filter((l) => l.request_id === "req_collide_00001")).length < 5 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(lines.map((l) => [l.path, l.status_code, l.grpc_method])).toEqual([
      ["/v1/customers", 200, "/payments.v1.CustomerService/ListCustomers"],
      ["/v1/customers", 200, "/payments.v1.CustomerService/ListCustomers"],
      ["/v1/customers", 200, "/payments.v1.CustomerService/ListCustomers"],
      ["/v1/no_such_thing", 404, null],
      ["/v1/customers/cus_missing", 404, "/payments.v1.CustomerService/GetCustomer"],
    ]);
  });
});
