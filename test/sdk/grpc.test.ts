// sdk/typescript/grpc.ts against the core's real gRPC server: one-line calls
// with the key in metadata, typed errors from the status details, a deadline,
// an idempotency key per mutating call, and the retry policy of the service
// config (UNAVAILABLE retried by grpc-js itself, through a core that comes up late).
import net from "node:net";
import * as grpc from "@grpc/grpc-js";
import { CustomerServiceService } from "../../gen/payments/v1/customers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APIConnectionError, APIError, AuthenticationError, CardError, IdempotencyError, InvalidRequestError } from "../../sdk/typescript/index";
import { createClient, serviceConfig, type PaymentsGrpcClient } from "../../sdk/typescript/grpc";
import { encodeStatusDetails, unavailable } from "../../server/errors";
import { startTestCore, type TestCore } from "../support/core";

const CARD = { number: "4242424242424242", exp_month: 12, exp_year: 2034, cvc: "123" };

describe("gRPC client helper", () => {
  let core: TestCore;
  let client: PaymentsGrpcClient;
  beforeAll(async () => {
    core = await startTestCore();
    client = createClient(core.grpcAddress, core.keys.secret);
  });
  afterAll(async () => {
    client?.close();
    await core?.close();
  });

  it("creates and confirms a payment in one line each", async () => {
    const { payment_method } = await client.paymentMethods.create({ type: "card", card: CARD });
    const { payment_intent } = await client.paymentIntents.create({ amount: 2000, currency: "usd", payment_method: payment_method!.id });
    const confirmed = await client.paymentIntents.confirm({ id: payment_intent!.id });
    expect(confirmed.payment_intent).toMatchObject({ status: "succeeded", amount_received: 2000 });
    const list = await client.paymentIntents.list({ limit: 1 });
    expect(list.data[0].id).toBe(payment_intent!.id);
  });

  it("rejects with the SDK's typed errors", async () => {
    const { payment_method } = await client.paymentMethods.create({ type: "card", card: { ...CARD, number: "4000000000000002" } });
    const declined = await client.paymentIntents.create({ amount: 2000, currency: "usd", payment_method: payment_method!.id, confirm: true }).catch((e) => e);
    expect(declined).toBeInstanceOf(CardError);
    expect(declined).toMatchObject({ code: "card_declined", decline_code: "generic_decline", statusCode: 402 });
    expect(declined.request_id).toMatch(/^req_/);
    const missing = await client.paymentIntents.get({ id: "pi_nope" }).catch((e) => e);
    expect(missing).toBeInstanceOf(InvalidRequestError);
    expect(missing.code).toBe("resource_missing");
    const bad = createClient(core.grpcAddress, "sk_test_wrong");
    try {
      expect(await bad.customers.list({}).catch((e) => e)).toBeInstanceOf(AuthenticationError);
    } finally {
      bad.close();
    }
  });

  it("gives each error the HTTP status the REST gateway answers with (one table)", async () => {
    const missing = await client.paymentIntents.get({ id: "pi_nope" }).catch((e) => e);
    expect(missing).toMatchObject({ code: "resource_missing", statusCode: 404 });
    const badKey = createClient(core.grpcAddress, "sk_test_wrong");
    const publishable = createClient(core.grpcAddress, core.keys.publishable);
    try {
      expect(await badKey.customers.list({}).catch((e) => e)).toMatchObject({ type: "authentication_error", statusCode: 401 });
      const forbidden = await publishable.customers.list({}).catch((e) => e);
      expect(forbidden).toBeInstanceOf(AuthenticationError);
      expect(forbidden).toMatchObject({ code: "unauthorized", statusCode: 403 });
    } finally {
      badKey.close();
      publishable.close();
    }
    await client.customers.create({ email: "a@example.com" }, { idempotencyKey: "grpc-idem-status" });
    const reused = await client.customers.create({ email: "b@example.com" }, { idempotencyKey: "grpc-idem-status" }).catch((e) => e);
    expect(reused).toBeInstanceOf(IdempotencyError);
    expect(reused).toMatchObject({ code: "idempotency_key_reused", statusCode: 400 });
  });

  it("maps a core's service_unavailable to 503, and survives malformed status details", async () => {
    // A stand-in CustomerService: UNAVAILABLE with the core's error object, or INTERNAL with garbage details.
    const server = new grpc.Server();
    server.addService(CustomerServiceService, {
      createCustomer: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const err = unavailable();
        const md = new grpc.Metadata();
        md.set("grpc-status-details-bin", Buffer.from(encodeStatusDetails(err.grpcCode, err.message, err.detail("req_standin_0001"))));
        cb({ code: err.grpcCode, details: err.message, metadata: md });
      },
      listCustomers: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const md = new grpc.Metadata();
        // Field 3, length 200, but only three bytes follow: a truncated google.rpc.Status.
        md.set("grpc-status-details-bin", Buffer.from([0x1a, 0xc8, 0x01, 0x0a, 0x01, 0x61]));
        cb({ code: grpc.status.INTERNAL, details: "boom", metadata: md });
      },
    } as unknown as grpc.UntypedServiceImplementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const standIn = createClient(`127.0.0.1:${port}`, "sk_test_abc", { maxAttempts: 2 });
    try {
      const down = await standIn.customers.create({ email: "x@example.com" }).catch((e) => e);
      expect(down).toBeInstanceOf(APIError);
      expect(down).toMatchObject({ type: "api_error", code: "service_unavailable", statusCode: 503, request_id: "req_standin_0001" });
      const garbled = await standIn.customers.list({}).catch((e) => e);
      expect(garbled).toBeInstanceOf(APIError);
      expect(garbled).toMatchObject({ type: "api_error", statusCode: 500, message: "boom" });
    } finally {
      standIn.close();
      server.forceShutdown();
    }
  });

  it("sends one idempotency key per call: a replay with the same key returns the same object", async () => {
    const a = await client.customers.create({ email: "same@example.com" }, { idempotencyKey: "grpc-idem-1" });
    const b = await client.customers.create({ email: "same@example.com" }, { idempotencyKey: "grpc-idem-1" });
    expect(b.customer!.id).toBe(a.customer!.id);
    const c = await client.customers.create({ email: "same@example.com" });
    expect(c.customer!.id).not.toBe(a.customer!.id);
  });

  it("puts the deadline and the retry policy in the service config", () => {
    const config = JSON.parse(serviceConfig(2500, 4));
    expect(config.methodConfig[0].timeout).toBe("2.500s");
    expect(config.methodConfig[0].retryPolicy).toMatchObject({ maxAttempts: 4, retryableStatusCodes: ["UNAVAILABLE", "ABORTED"] });
    expect(config.methodConfig[0].name.map((n: { service: string }) => n.service)).toContain("payments.v1.PaymentIntentService");
  });

  it("retries UNAVAILABLE by the service config's policy, with one idempotency key", async () => {
    // A stand-in CustomerService that is unavailable for its first two calls.
    const seen: Array<{ auth?: string; key?: string }> = [];
    const server = new grpc.Server();
    server.addService(CustomerServiceService, {
      createCustomer: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        seen.push({ auth: String(call.metadata.get("authorization")[0]), key: String(call.metadata.get("idempotency-key")[0]) });
        if (seen.length < 3) return cb({ code: grpc.status.UNAVAILABLE, details: "warming up" });
        cb(null, { customer: { id: "cus_retried", object: "customer", created: 1, metadata: {}, livemode: false } });
      },
    } as unknown as grpc.UntypedServiceImplementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const retrying = createClient(`127.0.0.1:${port}`, "sk_test_abc");
    try {
      const res = await retrying.customers.create({ email: "r@example.com" });
      expect(res.customer!.id).toBe("cus_retried");
      expect(seen).toHaveLength(3);
      expect(new Set(seen.map((s) => s.key)).size).toBe(1);
      expect(seen[0]).toMatchObject({ auth: "Bearer sk_test_abc" });
    } finally {
      retrying.close();
      server.forceShutdown();
    }
  });

  it("fails a call that exceeds its deadline", async () => {
    // A TCP listener that accepts and never speaks HTTP/2: the call can only end by its deadline.
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as net.AddressInfo).port;
    const stuck = createClient(`127.0.0.1:${port}`, core.keys.secret, { timeoutMs: 300 });
    try {
      const started = Date.now();
      const err = await stuck.customers.list({}).catch((e) => e);
      expect(err).toBeInstanceOf(APIConnectionError);
      expect(err.message).toMatch(/deadline/i);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      stuck.close();
      silent.close();
    }
  });
});
