// The Python SDK (sdk/python, standard library only) run by the machine's
// python3 against the live service: the API design's Python example as
// written (key, payment method id and base URL filled in), and the SDK's
// scenarios (typed errors, idempotent retries through the fault proxy,
// pagination, webhook verification on a real delivery).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createRateLimiting, type RateLimiting } from "../../server/ratelimit/limiter";
import { PaymentsSDK } from "../../sdk/typescript/index";
import { fileLogger, smallLimits } from "../ops/helpers";
import { startFaultProxy, type FaultProxy } from "./proxy";
import { closeServer, listen, startLiveService, type LiveService } from "./support";

const PYTHON = process.env.PYTHON ?? "python3";
const SDK_DIR = fileURLToPath(new URL("../../sdk/python", import.meta.url));
const here = (name: string) => fileURLToPath(new URL(`./python/${name}`, import.meta.url));

/** Runs python3 with the SDK on PYTHONPATH; resolves with its exit code and output. */
function python(args: string[], stdin = ""): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, args, { env: { ...process.env, PYTHONPATH: SDK_DIR, PYTHONDONTWRITEBYTECODE: "1" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

let service: LiveService;
let sk: PaymentsSDK;
beforeAll(async () => {
  service = await startLiveService();
  sk = new PaymentsSDK(service.core.keys.secret, { apiBase: service.base });
});
afterAll(async () => {
  await service?.close();
});

describe("the spec's Python example", () => {
  it("prints 'Payment status: succeeded'", async () => {
    const pm = await sk.paymentMethods.create({ type: "card", card: { number: "4242424242424242", exp_month: 12, exp_year: 2034, cvc: "123" } });
    const example = readFileSync(here("spec_example.py"), "utf8");
    // Only the key, the payment method id and the base URL are filled in.
    const filled =
      `import payments\npayments.api_base = ${JSON.stringify(service.base)}\n` +
      example.replace("sk_test_1234567890abcdef", service.core.keys.secret).replace("pm_1234567890abcdef", pm.id);
    expect(filled.split("\n").length).toBe(example.split("\n").length + 2);
    const run = await python(["-c", filled]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("Payment status: succeeded\n");
    const intents = await sk.paymentIntents.list({ limit: 1 });
    expect(intents.data[0]).toMatchObject({ status: "succeeded", amount: 2000, metadata: { order_id: "12345" }, payment_method: pm.id });
  });
});

describe("Python SDK scenarios", () => {
  let proxy: FaultProxy;
  let receiver: http.Server;
  const deliveries: Array<{ body: string; header: string }> = [];
  let result: Record<string, any>;
  let limiting: RateLimiting;
  let limited: LiveService;

  beforeAll(async () => {
    proxy = await startFaultProxy(service.base);
    limiting = await createRateLimiting(fileLogger().logger, smallLimits({ limits: { default: 3, payment_creation: 2 } }));
    limited = await startLiveService({ rateLimiter: limiting.limiter });
    receiver = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      deliveries.push({ body: Buffer.concat(chunks).toString("utf8"), header: String(req.headers["payments-signature"]) });
      res.writeHead(200).end();
    });
    const hookUrl = await listen(receiver);
    const endpoint = await sk.webhookEndpoints.create({ url: `${hookUrl}/py`, enabled_events: ["customer.created"] });
    await sk.customers.create({ email: "py-hook@example.com" });
    await vi.waitFor(() => expect(deliveries.length).toBeGreaterThan(0), { timeout: 15_000, interval: 50 });
    await sk.webhookEndpoints.del(endpoint.id);

    proxy.inject("POST", "/v1/payment_intents", { kind: "503-before" });
    proxy.inject("GET", "/v1/charges", { kind: "503-before" }, { kind: "503-before" }, { kind: "503-before" });
    const input = {
      limited_base: limited.base,
      limited_key: limited.core.keys.secret,
      api_base: service.base,
      proxy_base: proxy.base,
      secret_key: service.core.keys.secret,
      publishable_key: service.core.keys.publishable,
      webhook: { ...deliveries[0], secret: endpoint.secret },
    };
    const run = await python([here("sdk_checks.py")], JSON.stringify(input));
    if (run.code !== 0) throw new Error(`sdk_checks.py failed (${run.code}):\n${run.stderr}`);
    result = JSON.parse(run.stdout);
  }, 60_000);
  afterAll(async () => {
    await proxy?.close();
    await limited?.close();
    await limiting?.close?.();
    if (receiver) await closeServer(receiver);
  });

  it("drives every resource, with attribute access", () => {
    expect(result.manual_status).toBe("requires_capture");
    expect(result.captured).toEqual({ status: "succeeded", amount_received: 2500, metadata: "py-1" });
    expect(result.refund).toEqual({ object: "refund", amount: 500, status: "succeeded", charge: true });
    expect(result.retrieved_refund).toBe(true);
    expect(result.charge_card_last4).toBe("4242");
    expect(result.canceled).toBe("canceled");
    expect(result.deleted).toMatchObject({ object: "customer", deleted: true });
    expect(result.events).toMatchObject({ object: "list", first_is_event: "event" });
    expect(result.endpoint_secret_prefix).toBe("whsec_");
    expect(result.endpoint_rolled).toBe(true);
    expect(result.endpoint_deleted).toBe(true);
    expect(result.three_ds).toEqual(["requires_action", "succeeded"]);
  });

  it("raises a typed exception for every error type", () => {
    expect(result.card_error).toMatchObject({ class: "CardError", type: "card_error", code: "card_declined", decline_code: "generic_decline", http_status: 402 });
    expect(result.card_error.request_id).toMatch(/^req_/);
    expect(result.invalid_request_error).toMatchObject({ class: "InvalidRequestError", code: "parameter_missing", param: "amount", http_status: 400 });
    expect(result.not_found).toMatchObject({ class: "InvalidRequestError", code: "resource_missing", http_status: 404 });
    expect(result.authentication_error).toMatchObject({ class: "AuthenticationError", code: "invalid_api_key", http_status: 401 });
    expect(result.permission).toMatchObject({ class: "AuthenticationError", http_status: 403 });
    expect(result.idempotency_error).toMatchObject({ class: "IdempotencyError", type: "idempotency_error" });
    expect(result.idempotent_replay_same_id).toBe(true);
    expect(result.rate_limit_error).toMatchObject({ class: "RateLimitError", type: "rate_limit_error", http_status: 429 });
    expect(result.api_error).toMatchObject({ class: "APIError", type: "api_error", http_status: 503, request_id: "req_proxy_injected" });
    expect(proxy.seen.filter((s) => s.path === "/v1/charges").map((s) => s.fault)).toEqual(["503-before", "503-before", "503-before"]);
    expect(result.connection_error).toMatchObject({ class: "APIConnectionError", http_status: 0, is_payments_error: true });
  });

  it("retries an injected 503 with one idempotency key and creates one object", () => {
    const attempts = proxy.seen.filter((s) => s.method === "POST" && s.path === "/v1/payment_intents");
    expect(attempts.map((a) => a.fault)).toEqual(["503-before", undefined]);
    expect(attempts[0].headers["idempotency-key"]).toBeTruthy();
    expect(attempts[1].headers["idempotency-key"]).toBe(attempts[0].headers["idempotency-key"]);
    expect(attempts[0].headers["user-agent"]).toMatch(/^payments-sdk-python\//);
    expect(result.retried_id).toMatch(/^pi_/);
    expect(result.retried_count).toBe(1);
  });

  it("iterates every page", () => {
    expect(result.first_page).toEqual({ len: 2, has_more: true });
    expect(result.all_pages).toEqual(result.created_newest_first);
    expect(result.all_pages).toHaveLength(5);
  });

  it("verifies webhooks: good, tampered, wrong secret, malformed, missing, stale", () => {
    expect(result.webhook_good).toEqual({ object: "event", type: "customer.created", data_object: "customer" });
    expect(result.webhook_bytes).toBe(true);
    expect(result.webhook_tampered).toMatch(/does not match/);
    expect(result.webhook_wrong_secret).toMatch(/does not match/);
    expect(result.webhook_malformed).toMatch(/Malformed/);
    expect(result.webhook_missing).toMatch(/No Payments-Signature/);
    expect(result.webhook_stale).toMatch(/outside the tolerance/);
    expect(result.webhook_stale_wide_tolerance).toBeNull();
    // No tolerance turns the replay check off: 0 or less is refused outright.
    expect(result.webhook_tolerance_zero).toMatch(/tolerance must be a positive number/);
    expect(result.webhook_tolerance_negative).toMatch(/tolerance must be a positive number/);
  });
});
