// The gateway in front of the real request pipeline, in-process and over
// real gRPC (grpc-dispatcher → grpc-js server → the same pipeline): both
// paths give the same statuses, headers and bodies. Also the failures the
// gateway answers itself: bad JSON, body too large, core unreachable.
import * as grpc from "@grpc/grpc-js";
import type { Server } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGrpcDispatcher, type GrpcDispatcher } from "../../gateway/grpc-dispatcher";
import { createGateway, HTTP_BODY_HEADERS } from "../../gateway/server";
import { invalidApiKey } from "../../server/errors";
import { addServices, listen } from "../../server/grpc/binding";
import { Pipeline } from "../../server/pipeline/pipeline";
import { call, closeServer, listenLocal } from "./support";

let grpcServer: grpc.Server;
let remote: GrpcDispatcher;
let unreachable: GrpcDispatcher;
const gateways: Server[] = [];
let inProcess: string;
let overGrpc: string;
let down: string;

beforeAll(async () => {
  const pipeline = new Pipeline({
    handlers: {
      // A real handler on the public receipt route: the pipeline runs it without a key.
      ReceiptService: {
        getReceipt: async (_ctx, req) => ({
          page: { content_type: "text/html; charset=utf-8", data: Buffer.from(`<p>${req.charge_id}</p>`), extensions: [] },
        }),
      },
    },
    auth: {
      authenticate: async (authorization) => {
        if (authorization !== "Bearer sk_test_gateway") throw invalidApiKey();
        return { merchantId: "acct_1", livemode: false, keyType: "secret", keyId: "key_1" };
      },
    },
  });
  grpcServer = new grpc.Server();
  addServices(grpcServer, pipeline);
  const port = await listen(grpcServer, "127.0.0.1:0");
  remote = createGrpcDispatcher(`127.0.0.1:${port}`);
  // A port nothing listens on: the channel fails to connect.
  const probe = new grpc.Server();
  const freePort = await listen(probe, "127.0.0.1:0");
  probe.forceShutdown();
  unreachable = createGrpcDispatcher(`127.0.0.1:${freePort}`);
  const start = async (dispatcher: typeof pipeline | GrpcDispatcher, maxBodyBytes?: number) => {
    const gw = createGateway({ dispatcher, maxBodyBytes });
    gateways.push(gw);
    return listenLocal(gw);
  };
  inProcess = await start(pipeline, 1024);
  overGrpc = await start(remote, 1024);
  down = await start(unreachable);
});

afterAll(async () => {
  await Promise.all(gateways.map(closeServer));
  remote?.close();
  unreachable?.close();
  grpcServer?.forceShutdown();
});

/** A reply with its request id replaced, so the two paths compare equal. */
const comparable = (r: Awaited<ReturnType<typeof call>>) => ({
  status: r.status,
  type: r.headers.get("content-type"),
  body: r.text.replace(/req_[0-9a-f]{24}/g, "req_X"),
  requestId: r.headers.get("request-id")?.replace(/req_[0-9a-f]{24}/g, "req_X"),
});

describe("in-process and over gRPC give identical answers", () => {
  const cases: [string, string, unknown?, Record<string, string>?][] = [
    ["GET", "/v1/refunds/re_1"],
    ["GET", "/v1/refunds/re_1", undefined, { authorization: "Bearer sk_test_wrong" }],
    ["GET", "/v1/refunds/re_1", undefined, { authorization: "Bearer sk_test_gateway" }],
    ["POST", "/v1/refunds", { charge: "ch_1", amount: 100 }, { authorization: "Bearer sk_test_gateway" }],
    ["POST", "/v1/refunds", { charge: "ch_1", amount: "lots" }, { authorization: "Bearer sk_test_gateway" }],
    ["POST", "/v1/refunds", "{not json", { authorization: "Bearer sk_test_gateway" }],
    ["GET", "/v1/refunds?limit=3&starting_after=re_9", undefined, { authorization: "Bearer sk_test_gateway" }],
    ["GET", "/v1/refunds?colour=red", undefined, { authorization: "Bearer sk_test_gateway" }],
    ["GET", "/receipts/ch_abc"],
    ["PUT", "/v1/refunds"],
    ["GET", "/v2/nothing"],
  ];
  it.each(cases)("%s %s", async (method, path, body, headers) => {
    const a = await call(inProcess, method, path, body, headers);
    const b = await call(overGrpc, method, path, body, headers);
    expect(a.headers.get("request-id")).toMatch(/^req_[0-9a-f]{24}$/);
    expect(comparable(b)).toEqual(comparable(a));
    if (a.status >= 400) {
      expect(a.headers.get("content-type")).toBe("application/json");
      expect(a.json.error.request_id).toBe(a.headers.get("request-id"));
    }
  });

  it("gives the expected statuses", async () => {
    const statuses = await Promise.all(cases.map(([m, p, b, h]) => call(inProcess, m, p, b, h).then((r) => r.status)));
    expect(statuses).toEqual([401, 401, 501, 501, 400, 400, 501, 400, 200, 405, 404]);
    for (const base of [inProcess, overGrpc]) {
      const receipt = await call(base, "GET", "/receipts/ch_abc");
      expect(receipt.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(receipt.text).toBe("<p>ch_abc</p>");
      // An HttpBody is served as its content type says, with a CSP that allows nothing but inline style.
      expect(receipt.headers.get("x-content-type-options")).toBe("nosniff");
      expect(receipt.headers.get("content-security-policy")).toBe(HTTP_BODY_HEADERS["Content-Security-Policy"]);
    }
    // JSON answers are not HttpBody: no page policy on them.
    const json = await call(inProcess, "GET", "/v1/refunds/re_1");
    expect(json.headers.get("content-security-policy")).toBeNull();
  });

  it("keeps a valid client X-Request-Id as the request id on both paths", async () => {
    for (const base of [inProcess, overGrpc]) {
      const r = await call(base, "GET", "/v1/refunds/re_1", undefined, { "x-request-id": "req_client_chosen_1" });
      expect(r.headers.get("request-id")).toBe("req_client_chosen_1");
      expect(r.json.error.request_id).toBe("req_client_chosen_1");
    }
  });
});

describe("the gateway's own failures", () => {
  it("answers 413 for a body over the limit, in the error format", async () => {
    for (const base of [inProcess, overGrpc]) {
      const r = await call(base, "POST", "/v1/refunds", { metadata: { big: "x".repeat(2000) } }, { authorization: "Bearer sk_test_gateway" });
      expect(r.status).toBe(413);
      expect(r.json.error).toMatchObject({ type: "invalid_request_error", code: "request_too_large" });
      expect(r.headers.get("request-id")).toBe(r.json.error.request_id);
    }
  });

  it("answers 400 naming body for JSON that does not parse", async () => {
    const r = await call(inProcess, "POST", "/v1/refunds", "{not json");
    expect(r.json).toEqual({
      error: { type: "invalid_request_error", code: "parameter_invalid", message: "The request body is not valid JSON.", param: "body", request_id: r.headers.get("request-id") },
    });
  });

  it("answers 503 api_error when the core is unreachable", async () => {
    const r = await call(down, "GET", "/v1/refunds/re_1", undefined, { authorization: "Bearer sk_test_gateway" });
    expect(r.status).toBe(503);
    expect(r.headers.get("content-type")).toBe("application/json");
    expect(r.json.error).toMatchObject({ type: "api_error", code: "service_unavailable" });
    expect(r.json.error.request_id).toMatch(/^req_[0-9a-f]{24}$/);
    expect(r.headers.get("request-id")).toBe(r.json.error.request_id);
  });
});

describe("requests node:http cannot parse", () => {
  const raw = (base: string, text: string) =>
    new Promise<string>((resolve, reject) => {
      const { hostname, port } = new URL(base);
      const socket = connect(Number(port), hostname, () => socket.end(text));
      let out = "";
      socket.on("data", (d) => (out += d.toString()));
      socket.on("end", () => resolve(out));
      socket.on("error", reject);
    });

  it("answers malformed HTTP with 400 in the error format", async () => {
    const out = await raw(inProcess, "GET /v1/refunds HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n");
    expect(out).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(out).toContain("Content-Type: application/json");
    const [head, body] = out.split("\r\n\r\n");
    const parsed = JSON.parse(body);
    expect(parsed.error).toMatchObject({ type: "invalid_request_error", code: "malformed_request" });
    expect(head).toContain(`Request-Id: ${parsed.error.request_id}`);
  });

  it("answers oversized headers with 431 in the error format", async () => {
    const out = await raw(inProcess, `GET /v1/refunds HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(out.split("\r\n\r\n")[1]).error.code).toBe("request_headers_too_large");
  });
});

describe("CORS (browsers calling with a publishable key)", () => {
  it("answers a preflight for an API path with the methods and headers browsers may use", async () => {
    const res = await fetch(`${inProcess}/v1/payment_methods`, {
      method: "OPTIONS",
      headers: { origin: "https://shop.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://shop.example");
    expect(res.headers.get("access-control-allow-methods")).toBe("DELETE,GET,POST");
    expect(res.headers.get("access-control-allow-headers")).toContain("idempotency-key");
    expect(res.headers.get("allow")).toBe("GET, POST");
    expect(res.headers.get("request-id")).toMatch(/^req_/);
  });

  it("lets the browser read the request id and rate-limit headers, on errors too", async () => {
    for (const base of [inProcess, overGrpc]) {
      const res = await fetch(`${base}/v1/refunds/re_1`, { headers: { origin: "https://shop.example" } });
      expect(res.status).toBe(401);
      expect(res.headers.get("access-control-allow-origin")).toBe("https://shop.example");
      expect(res.headers.get("access-control-expose-headers")).toContain("request-id");
    }
    const noOrigin = await fetch(`${inProcess}/v1/refunds/re_1`);
    expect(noOrigin.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("does not answer a preflight for a path the API does not have", async () => {
    const res = await fetch(`${inProcess}/v1/nothing`, { method: "OPTIONS", headers: { origin: "https://shop.example" } });
    expect(res.status).toBe(404);
  });
});
