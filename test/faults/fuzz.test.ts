// Bad input: a few thousand malformed requests (random JSON, wrong types,
// huge numbers, negative amounts, unknown fields, invalid UTF-8, oversized
// bodies, path traversal in ids, bad query strings, hostile headers) to every
// REST route the descriptors declare, through the real gateway and core.
// Nothing may answer 5xx; every error is the spec's {"error": {...}} object
// with a request id; the service still works afterwards. Seeded: a failure
// names the seed and the request, so it can be replayed.
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import type http from "node:http";
import * as grpc from "@grpc/grpc-js";
import { METHODS } from "../../server/methods";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway } from "../../gateway/server";
import { allMethods, httpRules, loadRegistry } from "../../gateway/descriptors";
import { startTestCore, type TestCore } from "../support/core";
import { GOOD_CARD, request, type Answer } from "../scale/procs";

const SEED = Number(process.env.FUZZ_SEED ?? 20261126);
const PER_ROUTE = Number(process.env.FUZZ_PER_ROUTE ?? 70);
const ERROR_TYPES = ["invalid_request_error", "authentication_error", "card_error", "rate_limit_error", "idempotency_error", "api_error"];

/** mulberry32: a small seeded PRNG, so every run sends the same requests. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  return { next, int, pick };
}

const HOSTILE_IDS = [
  "../../../../etc/passwd",
  "..%2F..%2F..%2Fetc%2Fpasswd",
  "%2e%2e%2f%2e%2e%2f",
  "pi_" + "a".repeat(5000),
  "%00",
  "pi_%00abc",
  "'%20OR%201=1--",
  "%F0%9F%92%B3",
  "%C3%28",
  "%ff%fe",
  "%zz",
  "pi_123%0d%0aSet-Cookie:%20x=1",
  "ch_" + "%41".repeat(300),
  "{id}",
  "*",
];

const WEIRD_VALUES: unknown[] = [
  null,
  true,
  -1,
  0,
  -2147483649,
  2147483648,
  99999999999999999999999,
  1.5,
  -0.0001,
  "",
  "x".repeat(10_000),
  "\u0000",
  "\ud800",
  [],
  [1, "a", null],
  {},
  { nested: { deeper: [{}] } },
  "NaN",
  "1e400",
];

const FIELDS = ["amount", "currency", "payment_method", "customer", "customer_id", "charge", "payment_intent", "metadata", "card", "type", "confirm", "capture_method", "amount_to_capture", "limit", "url", "enabled_events", "reason", "email", "billing_details", "id", "client_secret"];

function randomJson(r: ReturnType<typeof prng>, depth = 0): unknown {
  const k = r.int(depth > 3 ? 4 : 7);
  if (k === 0) return r.pick(WEIRD_VALUES);
  if (k === 1) return r.int(2) ? -r.int(1e9) : r.int(1e12);
  if (k === 2) return r.pick(["usd", "USD", "xxx", "", "card", "pm_x", "ch_x", "automatic", "manual", "http://127.0.0.1/"]);
  if (k === 3) return r.int(2) === 0;
  if (k === 4) return Array.from({ length: r.int(4) }, () => randomJson(r, depth + 1));
  const obj: Record<string, unknown> = {};
  for (let i = r.int(5); i >= 0; i--) obj[r.int(3) ? r.pick(FIELDS) : `unknown_${r.int(100)}`] = randomJson(r, depth + 1);
  return obj;
}

/** A malformed body: mostly JSON of the wrong shape, sometimes not JSON at all. */
function randomBody(r: ReturnType<typeof prng>): { body: Buffer; contentType?: string } {
  switch (r.int(12)) {
    case 0:
      return { body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]) }; // {"a":"<invalid UTF-8>"}
    case 1:
      return { body: Buffer.from("{not json") };
    case 2:
      return { body: Buffer.from(`{"amount": 1e400, "currency": "usd"}`) };
    case 3:
      return { body: Buffer.from(`{"amount": -2000, "currency": "usd"}`) };
    case 4:
      return { body: Buffer.from("[".repeat(3000) + "]".repeat(3000)) };
    case 5:
      return { body: Buffer.from(JSON.stringify({ ...GOOD_CARD, card: { ...GOOD_CARD.card, number: r.pick(["4242", "abcd", 4242424242424242, "4242424242424241", ""]) } })) };
    case 6:
      return { body: Buffer.from("amount=2000&currency=usd"), contentType: "application/x-www-form-urlencoded" };
    case 7:
      return { body: Buffer.from(JSON.stringify({ amount: r.pick(WEIRD_VALUES), currency: r.pick(WEIRD_VALUES), surprise: r.pick(WEIRD_VALUES) })) };
    case 8:
      return { body: Buffer.from(`{"metadata": {${Array.from({ length: 60 }, (_, i) => `"k${i}": "${"v".repeat(600)}"`).join(",")}}}`) };
    case 9:
      return { body: Buffer.from(`{"amount": 2000, "amount": "dup", "__proto__": {"admin": true}, "constructor": {"prototype": {}}}`) };
    default:
      return { body: Buffer.from(JSON.stringify(randomJson(r))) };
  }
}

function randomQuery(r: ReturnType<typeof prng>): string {
  const parts: string[] = [];
  for (let i = r.int(4); i > 0; i--) {
    parts.push(
      r.pick([
        `limit=${r.pick(["-1", "0", "101", "1e9", "abc", "", "99999999999999999999"])}`,
        `starting_after=${r.pick(HOSTILE_IDS)}`,
        `ending_before=${r.pick(HOSTILE_IDS)}`,
        `created[gt]=${r.pick(["x", "-1", "1e30"])}`,
        `unknown_${r.int(9)}=1`,
        `type=${r.pick(["%zz", "a.b.*", "%00"])}`,
        "%zz=%zz",
        "limit=1&limit=2",
        "=&&=",
      ]),
    );
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

function fill(template: string, r: ReturnType<typeof prng>): string {
  return template.replace(/\{([^}=]+)(=[^}]*)?\}/g, () => r.pick(HOSTILE_IDS));
}

/** Sends raw bytes (for header-level abuse the Node client refuses to send) and returns the raw reply. */
function rawRequest(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.end(bytes));
    const chunks: Buffer[] = [];
    socket.on("data", (c) => chunks.push(c));
    socket.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
    socket.on("error", () => resolve(Buffer.concat(chunks).toString("latin1")));
    socket.setTimeout(5000, () => socket.destroy());
  });
}

let core: TestCore;
let gateway: http.Server;
let base: string;
let port: number;

beforeAll(async () => {
  core = await startTestCore({ rateLimiter: undefined });
  gateway = createGateway({ dispatcher: core.pipeline });
  await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
  port = (gateway.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  gateway?.closeAllConnections();
  await new Promise((r) => gateway?.close(r));
  await core?.close();
});

function checkError(a: Answer, what: string): void {
  expect(a.status, `${what} → ${a.status} ${a.text.slice(0, 300)}`).toBeLessThan(500);
  if (a.status < 400) return;
  expect(a.headers["content-type"], what).toMatch(/^application\/json/);
  expect(a.body?.error, `${what} → ${a.text.slice(0, 300)}`).toBeDefined();
  expect(ERROR_TYPES, what).toContain(a.body.error.type);
  expect(typeof a.body.error.message, what).toBe("string");
  expect(a.body.error.request_id ?? a.headers["request-id"], what).toBeTruthy();
  // Nothing internal leaks.
  expect(a.text, what).not.toMatch(/\bat .+\.ts:\d+|SQLITE_|syntax error at|knex|TypeError|RangeError/);
}

describe("fuzzing every REST route", () => {
  it(`answers a few thousand malformed requests with 4xx in the spec's format, never 5xx (seed ${SEED})`, async () => {
    const registry = loadRegistry();
    const routes = allMethods(registry)
      .filter((m) => m.methodKind !== "server_streaming") // an accepted stream request would stay open
      .flatMap((m) => httpRules(registry, m).map((rule) => ({ rule, name: m.name })));
    expect(routes.length).toBeGreaterThan(20);
    const r = prng(SEED);
    const keys = [core.keys.secret, core.keys.secret, core.keys.publishable, core.keys.liveSecret, "sk_test_" + "x".repeat(24), "garbage", ""];
    const jobs: Array<() => Promise<void>> = [];
    const statuses = new Map<number, number>();
    for (const { rule } of routes) {
      for (let i = 0; i < PER_ROUTE; i++) {
        const path = fill(rule.path, r) + (rule.method === "get" || rule.method === "delete" || r.int(5) === 0 ? randomQuery(r) : "");
        const method = rule.method.toUpperCase();
        const key = r.pick(keys);
        const hasBody = rule.body !== "" && r.int(8) !== 0;
        const { body, contentType } = hasBody ? randomBody(r) : { body: undefined, contentType: undefined };
        const headers: Record<string, string> = {};
        if (contentType) headers["content-type"] = contentType;
        if (r.int(6) === 0) headers["idempotency-key"] = r.pick(["", "k".repeat(5000), "ключ", "a b c", "%00"]).replace(/[^\x20-\x7e]/g, "?");
        if (r.int(6) === 0) headers["x-request-id"] = r.pick(["short", "x".repeat(500), "<script>", "req_ok_12345678"]);
        if (r.int(8) === 0) headers.authorization = r.pick(["Bearer", "Basic Zm9vOmJhcg==", `Bearer ${key} extra`, "bearer " + key]);
        const what = `${method} ${path.slice(0, 200)} body=${body?.toString("latin1").slice(0, 120)}`;
        jobs.push(async () => {
          const a = await request(base, method, path, { key: headers.authorization ? undefined : key, body, headers });
          statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
          checkError(a, what);
        });
      }
    }
    // Oversized bodies (over the 1 MiB limit) on every body route, a few times.
    for (const { rule } of routes.filter((x) => x.rule.body !== "").slice(0, 6)) {
      const big = Buffer.from(`{"metadata":{"a":"${"x".repeat(1_200_000)}"}}`);
      jobs.push(async () => {
        const a = await request(base, rule.method.toUpperCase(), fill(rule.path, r), { key: core.keys.secret, body: big });
        checkError(a, `oversized ${rule.path}`);
        expect(a.status).toBe(413);
      });
    }
    // 16 at a time.
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < jobs.length) await jobs[next++]();
      }),
    );
    console.info(`fuzz: ${jobs.length} requests over ${routes.length} routes, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect(jobs.length).toBeGreaterThanOrEqual(2000);
    const fourxx = [...statuses].filter(([s]) => s >= 400 && s < 500).reduce((n, [, c]) => n + c, 0);
    // Almost everything is refused; the few 2xx are requests the fuzzer happened to make valid.
    expect(fourxx / jobs.length).toBeGreaterThan(0.9);
  }, 120_000);

  it("answers header-level abuse without a 5xx and without reflecting injected headers", async () => {
    const key = core.keys.secret;
    const replies = await Promise.all([
      rawRequest(port, `GET /v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nX-Request-Id: abc\r\n def\r\nConnection: close\r\n\r\n`),
      rawRequest(port, `GET /v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nX-Request-Id: a\u0000b\r\nConnection: close\r\n\r\n`),
      rawRequest(port, `GET /v1/customers/cus_1%0d%0aSet-Cookie:%20pwn=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nConnection: close\r\n\r\n`),
      rawRequest(port, `POST /v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Length: 5\r\nContent-Length: 7\r\nConnection: close\r\n\r\n{}`),
      rawRequest(port, `GET /v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nX-Big: ${"a".repeat(20_000)}\r\nConnection: close\r\n\r\n`),
      rawRequest(port, `GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    ]);
    for (const reply of replies) {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);
      // A reply the parser gave up on may be a bare close (0); anything sent is never 5xx.
      expect(status === 0 || (status >= 200 && status < 500), reply.slice(0, 200)).toBe(true);
      expect(reply).not.toMatch(/\r\nSet-Cookie: pwn=1/i);
    }
  }, 30_000);

  it("answers random protobuf bytes on every gRPC method with a client-error status and details, never INTERNAL", async () => {
    const r = prng(SEED + 1);
    const client = new grpc.Client(core.grpcAddress, grpc.credentials.createInsecure());
    const raw = (b: Buffer) => b;
    const CLIENT_ERRORS = [
      grpc.status.OK,
      grpc.status.INVALID_ARGUMENT,
      grpc.status.NOT_FOUND,
      grpc.status.UNAUTHENTICATED,
      grpc.status.PERMISSION_DENIED,
      grpc.status.FAILED_PRECONDITION,
      grpc.status.ALREADY_EXISTS,
      grpc.status.ABORTED,
      grpc.status.OUT_OF_RANGE,
    ];
    const codes = new Map<number, number>();
    try {
      for (const method of [...METHODS.values()].filter((m) => !m.serverStreaming)) {
        for (let i = 0; i < 20; i++) {
          const bytes = Buffer.from(Array.from({ length: r.int(i < 10 ? 16 : 400) }, () => r.int(256)));
          const md = new grpc.Metadata();
          md.set("authorization", `Bearer ${r.pick([core.keys.secret, core.keys.publishable, "sk_test_nope"])}`);
          const { code, details } = await new Promise<{ code: number; details: boolean }>((resolve) =>
            client.makeUnaryRequest(method.path, raw, raw, bytes, md, { deadline: Date.now() + 10_000 }, (err) =>
              resolve({ code: err?.code ?? 0, details: err ? Boolean(err.metadata?.get("grpc-status-details-bin").length) : true }),
            ),
          );
          codes.set(code, (codes.get(code) ?? 0) + 1);
          expect(CLIENT_ERRORS, `${method.path} with ${bytes.toString("hex").slice(0, 80)} → ${code}`).toContain(code);
          expect(details, `${method.path}: error without status details`).toBe(true);
        }
      }
    } finally {
      client.close();
    }
    console.info(`grpc fuzz: status codes ${JSON.stringify(Object.fromEntries(codes))}`);
  }, 60_000);

  it("still serves a full payment flow afterwards", async () => {
    const key = core.keys.secret;
    const pm = await request(base, "POST", "/v1/payment_methods", { key, body: GOOD_CARD });
    expect(pm.status, pm.text).toBe(200);
    const pi = await request(base, "POST", "/v1/payment_intents", { key, body: { amount: 2000, currency: "usd", payment_method: pm.body.id, confirm: true } });
    expect(pi.status, pi.text).toBe(200);
    expect(pi.body.status).toBe("succeeded");
  });
});
