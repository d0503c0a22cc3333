// The golden cases (cases.ts) against the Node gateway, with the core's
// pipeline as in-process dispatcher AND through the grpc-dispatcher over
// real gRPC: every case must pass on both, and both transcripts must be
// identical. Against Envoy too when an `envoy` binary is on the PATH.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGrpcDispatcher, type GrpcDispatcher } from "../../gateway/grpc-dispatcher";
import { createGateway } from "../../gateway/server";
import { createRateLimiting, type RateLimiting } from "../../server/ratelimit/limiter";
import { rateLimitConfigFromEnv } from "../../server/ratelimit/config";
import { insertCustomer } from "../../server/customers/store";
import { startTestCore, type TestCore } from "../support/core";
import { closeServer, listenLocal } from "../gateway/support";
import { GOLDEN, SPEC_CUSTOMER_ID } from "./cases";
import { runGolden, type Keys, type Outcome } from "./runner";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A core of its own per target, so every target sees the same sequence from the same empty state. */
async function goldenCore(): Promise<{ core: TestCore; limits: RateLimiting; keys: Keys }> {
  // payment_creation at 30 per minute: the rate-limit case spends another merchant's budget.
  const limits = await createRateLimiting(pino({ level: "silent" }), rateLimitConfigFromEnv({ RATE_LIMIT_PAYMENT_CREATION: "30" }));
  const core = await startTestCore({ backend: "sqlite", rateLimiter: limits.limiter, webhookWorker: false });
  // The API design's example names customer cus_1234567890: it exists for the test merchant, as it
  // would for the merchant of the example, so the example can be sent exactly as written.
  await insertCustomer(core.deps.db, {
    id: SPEC_CUSTOMER_ID,
    merchant_id: core.merchantId,
    livemode: false,
    email: "customer@example.com",
    name: null,
    phone: null,
    description: null,
    address: null,
    metadata: "{}",
    deleted: false,
    created: core.deps.now(),
  });
  return { core, limits, keys: { secret: core.keys.secret, publishable: core.keys.publishable, other: core.otherMerchant.secret, invalid: "sk_test_notarealkey000000000000" } };
}

function report(outcomes: Outcome[]): string[] {
  return outcomes.filter((o) => o.problems.length > 0).map((o) => `${o.name}:\n    ${o.problems.join("\n    ")}`);
}

const transcripts: Record<string, Outcome[]> = {};
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe.each(["in-process", "over gRPC"] as const)("golden cases, Node gateway %s", (mode) => {
  let base: string;
  let keys: Keys;
  beforeAll(async () => {
    const { core, limits, keys: k } = await goldenCore();
    keys = k;
    let dispatcher: TestCore["pipeline"] | GrpcDispatcher = core.pipeline;
    if (mode === "over gRPC") {
      const remote = createGrpcDispatcher(core.grpcAddress);
      dispatcher = remote;
      cleanups.push(() => remote.close());
    }
    const gateway: Server = createGateway({ dispatcher });
    base = await listenLocal(gateway);
    cleanups.push(
      () => closeServer(gateway),
      () => core.close(),
      () => limits.close(),
    );
  });

  it("passes every case", async () => {
    const outcomes = await runGolden(base, GOLDEN, keys);
    transcripts[mode] = outcomes;
    expect(report(outcomes)).toEqual([]);
  });

  it("streams events as Server-Sent Events (GET /v1/events/stream), replaying after starting_after", async () => {
    const auth = { authorization: `Bearer ${keys.secret}` };
    const list = (await (await fetch(`${base}/v1/events?limit=3`, { headers: auth })).json()) as { data: { id: string; type: string }[] };
    expect(list.data.length).toBe(3);
    const [newest, middle, oldest] = list.data;
    const abort = new AbortController();
    const res = await fetch(`${base}/v1/events/stream?starting_after=${oldest.id}`, { headers: auth, signal: abort.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(res.headers.get("request-id")).toMatch(/^req_[0-9a-f]{24}$/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    const messages: { id: string; object: string; type: string }[] = [];
    while (messages.length < 2) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffered.indexOf("\n\n")) >= 0) {
        const frame = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        expect(frame.startsWith("data: ")).toBe(true);
        expect(frame).not.toContain("\n");
        messages.push(JSON.parse(frame.slice("data: ".length)));
      }
    }
    abort.abort();
    expect(messages.map((m) => m.id)).toEqual([middle.id, newest.id]);
    expect(messages[0]).toMatchObject({ object: "event", type: middle.type });
  });

  it("delivers an event committed while the stream is open", async () => {
    const auth = { authorization: `Bearer ${keys.secret}` };
    const abort = new AbortController();
    // The response starts with the first event, so ask first and commit an event while waiting.
    const pending = fetch(`${base}/v1/events/stream?types=customer.created`, { headers: auth, signal: abort.signal });
    let response: Response | undefined;
    void pending.then((r) => (response = r));
    let created: { id: string } | undefined;
    for (let i = 0; i < 100 && !response; i++) {
      const res = await fetch(`${base}/v1/customers`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ name: `live ${i}` }) });
      created ??= (await res.json()) as { id: string };
      await Promise.race([pending, new Promise((r) => setTimeout(r, 20))]);
    }
    const res = await pending;
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("\n\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    abort.abort();
    const event = JSON.parse(text.slice("data: ".length, text.indexOf("\n\n")));
    expect(event).toMatchObject({ object: "event", type: "customer.created", data: { object: { object: "customer" } } });
    expect(created?.id).toMatch(/^cus_/);
  });

  it("answers a stream's errors before the first event in the error format", async () => {
    const res = await fetch(`${base}/v1/events/stream?starting_after=evt_doesnotexist`, { headers: { authorization: `Bearer ${keys.secret}` } });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { code: string; param: string; request_id: string } };
    expect(body.error).toMatchObject({ code: "resource_missing", param: "starting_after" });
    expect(body.error.request_id).toBe(res.headers.get("request-id"));
    const noKey = await fetch(`${base}/v1/events/stream`);
    expect(noKey.status).toBe(401);
  });
});

describe("golden transcripts", () => {
  it("are identical in-process and over gRPC", () => {
    expect(transcripts["in-process"], "the in-process run did not finish").toBeDefined();
    expect(transcripts["over gRPC"], "the gRPC run did not finish").toBeDefined();
    const view = (o: Outcome[]) => o.map((x) => `${x.name} → ${x.status} ${x.normalized}`);
    expect(view(transcripts["over gRPC"])).toEqual(view(transcripts["in-process"]));
  });
});

const envoyBinary = spawnSync("envoy", ["--version"]).status === 0;
describe.skipIf(!envoyBinary)("golden cases, Envoy", () => {
  if (!envoyBinary) console.warn("golden: no `envoy` binary on the PATH; the Envoy run is skipped (the Node gateway runs are not).");
  let base: string;
  let keys: Keys;
  let envoy: ChildProcess | undefined;
  beforeAll(async () => {
    const { core, limits, keys: k } = await goldenCore();
    keys = k;
    cleanups.push(() => core.close(), () => limits.close());
    const [rest, grpcPort, admin] = await Promise.all([freePort(), freePort(), freePort()]);
    const [, corePort] = core.grpcAddress.split(":");
    const dir = mkdtempSync(join(tmpdir(), "golden-envoy-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const config = readFileSync(join(ROOT, "gateway/envoy/envoy.yaml"), "utf8")
      .replace("gen/payments.binpb", join(ROOT, "gen/payments.binpb"))
      .replace("gateway/envoy/error-body.lua", join(ROOT, "gateway/envoy/error-body.lua"))
      .replace("port_value: 8080", `port_value: ${rest}`)
      .replace("port_value: 9090", `port_value: ${grpcPort}`)
      .replace("port_value: 9901", `port_value: ${admin}`)
      .replace("port_value: 50051", `port_value: ${corePort}`);
    writeFileSync(join(dir, "envoy.yaml"), config);
    envoy = spawn("envoy", ["-c", join(dir, "envoy.yaml"), "--log-level", "warn", "--base-id", String(rest)], { stdio: "inherit" });
    cleanups.push(() => void envoy?.kill());
    base = `http://127.0.0.1:${rest}`;
    for (let i = 0; i < 200; i++) {
      const ready = await fetch(`http://127.0.0.1:${admin}/ready`).then((r) => r.ok, () => false);
      if (ready) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("envoy did not become ready");
  });

  it("passes every case", async () => {
    const outcomes = await runGolden(base, GOLDEN, keys, "envoy");
    expect(report(outcomes)).toEqual([]);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}
