// A run with real payments through the REST gateway and over gRPC: the
// /metrics payment counters match the payments made, every call is logged,
// and a scan of the whole log finds no card number, CVC, full API key,
// client secret or webhook secret, not even in a logged exception.
import type http from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChargeServiceClient } from "../../gen/payments/v1/charges";
import { PaymentMethodServiceClient } from "../../gen/payments/v1/payment_methods";
import { createGateway } from "../../gateway/server";
import { observeCalls } from "../../server/observability/calls";
import { metricsRoute } from "../../server/observability/routes";
import { createRateLimiting, type RateLimiting } from "../../server/ratelimit/limiter";
import { allHandlers } from "../../server/services";
import { startTestCore, type TestCore } from "../support/core";
import { call } from "../support/grpc";
import { fileLogger, smallLimits } from "./helpers";

const CVC = "739";
const CARDS = {
  visa: "4242424242424242",
  insufficient: "4000000000009995",
  generic: "4000000000000002",
  threeDs: "4000002500003155",
};
// A card number an unexpected exception carries in its message (a driver error, say).
const LEAKED_IN_EXCEPTION = "5555555555554444";

const log = fileLogger();
let core: TestCore;
let limiting: RateLimiting;
let gateway: http.Server;
let base: string;
const secrets: string[] = [];

beforeAll(async () => {
  limiting = await createRateLimiting(log.logger, smallLimits({ limits: { default: 1000, payment_creation: 1000 } }));
  core = await startTestCore({
    rateLimiter: limiting.limiter,
    onCall: observeCalls(log.logger),
    handlers: (deps) => {
      const handlers = allHandlers(deps);
      return {
        ...handlers,
        ChargeService: {
          ...handlers.ChargeService,
          // An unexpected failure whose message carries what must never be logged.
          getCharge: async (ctx) => {
            throw new Error(`driver failed: card ${LEAKED_IN_EXCEPTION} cvc ${CVC} key ${ctx.metadata.authorization}`);
          },
        },
      };
    },
  });
  gateway = createGateway({ dispatcher: core.pipeline, extraRoutes: [metricsRoute()] });
  await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
  secrets.push(...Object.values(core.keys), core.otherMerchant.secret, core.otherMerchant.publishable);
});

afterAll(async () => {
  log.remove();
  await new Promise((resolve) => gateway?.close(resolve));
  await core?.close();
  await limiting?.close();
});

async function post(path: string, key: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** payment_outcomes_total samples by `status|decline_code`. */
async function paymentCounters(): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^payment_outcomes_total\{status="([^"]*)",decline_code="([^"]*)"\} (\d+)/gm)) {
    out.set(`${m[1]}|${m[2]}`, Number(m[3]));
  }
  return out;
}

async function pay(number: string, key = core.keys.secret): Promise<{ status: number; body: any }> {
  const pm = await post("/v1/payment_methods", key, { type: "card", card: { number, exp_month: 12, exp_year: 2034, cvc: CVC } });
  expect(pm.status).toBe(200);
  return post("/v1/payment_intents", key, { amount: 2000, currency: "usd", payment_method: pm.body.id, confirm: true });
}

describe("payments, metrics and the log", () => {
  it("counts payment outcomes by status and decline code as made", async () => {
    const before = await paymentCounters();
    const made = new Map<string, number>();
    const add = (k: string) => made.set(k, (made.get(k) ?? 0) + 1);

    for (let i = 0; i < 3; i++) {
      const r = await pay(CARDS.visa);
      expect(r.body.status).toBe("succeeded");
      add("succeeded|");
    }
    for (let i = 0; i < 2; i++) {
      const r = await pay(CARDS.insufficient);
      expect(r.status).toBe(402);
      expect(r.body.error.decline_code).toBe("insufficient_funds");
      add("requires_payment_method|insufficient_funds");
    }
    const generic = await pay(CARDS.generic);
    expect(generic.status).toBe(402);
    add(`requires_payment_method|${generic.body.error.decline_code}`);
    const threeDs = await pay(CARDS.threeDs);
    expect(threeDs.body.status).toBe("requires_action");
    add("requires_action|");
    // Not a payment attempt: created without confirming.
    expect((await post("/v1/payment_intents", core.keys.secret, { amount: 500, currency: "usd" })).status).toBe(200);

    const after = await paymentCounters();
    for (const [k, n] of made) expect((after.get(k) ?? 0) - (before.get(k) ?? 0), k).toBe(n);
    const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    expect(total(after) - total(before)).toBe(7);
  });

  it("counts webhook delivery attempts and their lag", async () => {
    const received: string[] = [];
    const receiver = (await import("node:http")).createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        received.push(body);
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    try {
      const metric = async (name: string) => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return Number(new RegExp(`^${name} (\\d+)`, "m").exec(text)?.[1] ?? 0);
      };
      const before = await metric('webhook_delivery_attempts_total\\{outcome="succeeded"\\}');
      const lagBefore = await metric("webhook_delivery_lag_seconds_count");
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      const endpoint = await post("/v1/webhook_endpoints", core.keys.secret, { url, enabled_events: ["payment_intent.succeeded"] });
      expect(endpoint.status).toBe(200);
      secrets.push(endpoint.body.secret);
      expect((await pay(CARDS.visa)).body.status).toBe("succeeded");
      const deadline = Date.now() + 20_000;
      while ((await metric('webhook_delivery_attempts_total\\{outcome="succeeded"\\}')) < before + 1) {
        if (Date.now() > deadline) throw new Error("no webhook delivery recorded");
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(received.length).toBeGreaterThanOrEqual(1);
      expect(await metric("webhook_delivery_lag_seconds_count")).toBeGreaterThan(lagBefore);
      await fetch(`${base}/v1/webhook_endpoints/${endpoint.body.id}`, { method: "DELETE", headers: { Authorization: `Bearer ${core.keys.secret}` } });
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it("logs an unexpected exception at error level with its request id, scrubbed", async () => {
    const out = await call(core.client(ChargeServiceClient), "getCharge", { id: "ch_any" }, core.metadata(core.keys.secret));
    expect(out.detail?.type).toBe("api_error");
    const [line] = log.lines().filter((l) => l.request_id === out.headers["request-id"]);
    expect(line.level).toBe("error");
    expect(line.status_code).toBe(500);
    expect(line.err.message).toContain("driver failed");
    expect(line.err.message).not.toContain(LEAKED_IN_EXCEPTION);
  });

  it("writes no card number, CVC, full key or secret anywhere in the log", async () => {
    // More traffic of every kind: gRPC card creation, publishable keys, webhook endpoints, bad keys.
    const pmClient = core.client(PaymentMethodServiceClient);
    const grpcPm = await call(
      pmClient,
      "createPaymentMethod",
      { type: "card", card: { number: CARDS.visa, exp_month: 1, exp_year: 2033, cvc: CVC }, metadata: {} },
      core.metadata(core.keys.publishable),
    );
    expect(grpcPm.value?.payment_method?.id).toMatch(/^pm_/);
    const intent = await pay(CARDS.threeDs);
    secrets.push(intent.body.client_secret);
    const res = await fetch(`${base}/v1/payment_intents/${intent.body.id}?client_secret=${encodeURIComponent(intent.body.client_secret)}`, {
      headers: { Authorization: `Bearer ${core.keys.publishable}` },
    });
    expect(res.status).toBe(200);
    const endpoint = await post("/v1/webhook_endpoints", core.keys.secret, { url: "http://127.0.0.1:9/hook", enabled_events: ["*"] });
    expect(endpoint.status).toBe(200);
    expect(endpoint.body.secret).toMatch(/^whsec_/);
    secrets.push(endpoint.body.secret);
    const badKey = "sk_test_notARealKeyButLongEnough0000";
    secrets.push(badKey);
    expect((await post("/v1/payment_methods", badKey, { type: "card", card: { number: CARDS.visa, exp_month: 1, exp_year: 2033, cvc: CVC } })).status).toBe(401);

    // Anything logged by other code with these fields is redacted by path.
    log.logger.warn(
      { metadata: { authorization: `Bearer ${core.keys.secret}` }, card: { number: CARDS.visa, cvc: CVC }, secret: endpoint.body.secret, client_secret: intent.body.client_secret },
      "redaction probe",
    );
    const probe = log.lines().find((l) => l.message === "redaction probe")!;
    expect(probe).toMatchObject({ metadata: { authorization: "[REDACTED]" }, card: { number: "[REDACTED]", cvc: "[REDACTED]" }, secret: "[REDACTED]" });
    const text = readFileSync(log.file, "utf8");
    const lines = text.split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThan(15);
    for (const number of [...Object.values(CARDS), LEAKED_IN_EXCEPTION]) expect(text).not.toContain(number);
    for (const secret of secrets) expect(text, "a full key or secret").not.toContain(secret);
    expect(text).not.toMatch(/whsec_[A-Za-z0-9]{8}/);
    expect(text).not.toMatch(/"cvc"\s*:\s*"?\d/i);
    expect(text).not.toContain(`cvc ${CVC}`);
    expect(text).not.toMatch(/bearer\s+[sp]k_/i);
    for (const line of lines) {
      const parsed = JSON.parse(line);
      if (parsed.api_key_prefix) expect(parsed.api_key_prefix.length).toBeLessThanOrEqual(12);
      expect(parsed).not.toHaveProperty("authorization");
    }
  });
});
