// Idempotency-Key through the real core over gRPC, on the real store on each
// database. CreateCustomer is answered by a handler of the test's own that
// counts its runs, so "the handler ran once" is observed, not assumed.
import { randomBytes } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CreateCustomerRequest, CustomerServiceClient, UpdateCustomerRequest } from "../../gen/payments/v1/customers";
import { createCore } from "../../server/app";
import { invalidParam, unavailable } from "../../server/errors";
import type { ServiceHandlers } from "../../server/methods";
import { BACKENDS, startTestCore, type TestCore } from "../support/core";
import { call } from "../support/grpc";

/** Runs of the test handler, by the request's `name`. */
const runs = new Map<string, number>();
/** Requests whose `name` has a gate wait in the handler until it is opened. */
const gates = new Map<string, { entered: Deferred; open: Deferred }>();

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const testHandlers = (): ServiceHandlers => ({
  CustomerService: {
    createCustomer: async (ctx, req) => {
      const name = req.name ?? "";
      runs.set(name, (runs.get(name) ?? 0) + 1);
      const gate = gates.get(name);
      if (gate) {
        gate.entered.resolve();
        await gate.open.promise;
      }
      if (name.startsWith("invalid")) throw invalidParam("email", "Invalid email address: not-an-email");
      if (name.startsWith("crash")) throw new Error("unexpected failure inside the handler");
      if (name.startsWith("unavailable") && runs.get(name) === 1) throw unavailable();
      return {
        customer: {
          id: `cus_${randomBytes(8).toString("hex")}`,
          object: "customer",
          created: 1_700_000_000,
          name,
          email: req.email,
          metadata: req.metadata,
          livemode: ctx.caller.livemode,
        },
      };
    },
    updateCustomer: async (_ctx, req) => ({
      customer: { id: req.id, object: "customer", created: 0, metadata: {}, livemode: false },
    }),
  },
});

describe.each(BACKENDS)("Idempotency-Key (%s)", (backend) => {
  let core: TestCore;
  let customers: CustomerServiceClient;
  let tag: string;

  beforeAll(async () => {
    core = await startTestCore({ backend, handlers: testHandlers });
    customers = core.client(CustomerServiceClient);
  });
  afterAll(() => core?.close());
  beforeEach(() => {
    tag = randomBytes(6).toString("hex");
  });

  const create = (name: string, key: string | undefined, apiKey = core.keys.secret, extra: Partial<CreateCustomerRequest> = {}) =>
    call(customers, "createCustomer", CreateCustomerRequest.fromPartial({ name, ...extra }), core.metadata(apiKey, key ? { "idempotency-key": key } : {}));

  it("replays the first success byte-for-byte with idempotent-replayed: true, running the handler once", async () => {
    const name = `ok-${tag}`;
    const first = await create(name, `key-${tag}`, core.keys.secret, { email: "a@example.com", metadata: { order: "1" } });
    expect(first.error).toBeUndefined();
    expect(first.headers["idempotent-replayed"]).toBeUndefined();
    const second = await create(name, `key-${tag}`, core.keys.secret, { email: "a@example.com", metadata: { order: "1" } });
    expect(second.error).toBeUndefined();
    expect(second.headers["idempotent-replayed"]).toBe("true");
    expect(second.value).toEqual(first.value);
    expect(runs.get(name)).toBe(1);

    // The bytes themselves, as the pipeline hands them to either transport.
    const path = "/payments.v1.CustomerService/CreateCustomer";
    const bytes = CreateCustomerRequest.encode(CreateCustomerRequest.fromPartial({ name: `bytes-${tag}` })).finish();
    const md = { authorization: `Bearer ${core.keys.secret}`, "idempotency-key": `bytes-${tag}` };
    const a = await core.pipeline.unary(path, bytes, md);
    const b = await core.pipeline.unary(path, bytes, md);
    expect(a.code).toBe(0);
    expect(Buffer.from(b.response!).equals(Buffer.from(a.response!))).toBe(true);
    expect(b.headers["idempotent-replayed"]).toBe("true");
    expect(b.headers["request-id"]).toMatch(/^req_/);
  });

  it("replays the first error too, with the original error object", async () => {
    const name = `invalid-${tag}`;
    const first = await create(name, `key-${tag}`);
    expect(first.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(first.detail).toMatchObject({ type: "invalid_request_error", param: "email" });
    const second = await create(name, `key-${tag}`);
    expect(second.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(second.detail).toEqual(first.detail);
    expect(second.headers["idempotent-replayed"]).toBe("true");
    expect(runs.get(name)).toBe(1);
  });

  it("replays an unexpected failure as the same api_error", async () => {
    const name = `crash-${tag}`;
    const first = await create(name, `key-${tag}`);
    expect(first.detail).toMatchObject({ type: "api_error" });
    expect(first.detail?.message).not.toContain("unexpected failure inside");
    const second = await create(name, `key-${tag}`);
    expect(second.detail).toEqual(first.detail);
    expect(runs.get(name)).toBe(1);
  });

  it("does not keep a 'retry later' (UNAVAILABLE) answer: the retry runs afresh", async () => {
    const name = `unavailable-${tag}`;
    const first = await create(name, `key-${tag}`);
    expect(first.error?.code).toBe(grpc.status.UNAVAILABLE);
    const retry = await create(name, `key-${tag}`);
    expect(retry.error).toBeUndefined();
    expect(retry.headers["idempotent-replayed"]).toBeUndefined();
    expect(runs.get(name)).toBe(2);
    const replay = await create(name, `key-${tag}`);
    expect(replay.value).toEqual(retry.value);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
  });

  it("refuses the same key with other parameters (idempotency_error, INVALID_ARGUMENT = 400)", async () => {
    const name = `mismatch-${tag}`;
    expect((await create(name, `key-${tag}`)).error).toBeUndefined();
    const other = await create(name, `key-${tag}`, core.keys.secret, { email: "b@example.com" });
    expect(other.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(other.detail).toMatchObject({ type: "idempotency_error", code: "idempotency_key_reused" });
    expect(other.detail?.message).toContain(`key-${tag}`);
    expect(runs.get(name)).toBe(1);
  });

  it("refuses the same key on another method", async () => {
    expect((await create(`method-${tag}`, `key-${tag}`)).error).toBeUndefined();
    const md = core.metadata(core.keys.secret, { "idempotency-key": `key-${tag}` });
    const out = await call(customers, "updateCustomer", UpdateCustomerRequest.fromPartial({ id: "cus_1" }), md);
    expect(out.detail).toMatchObject({ type: "idempotency_error", code: "idempotency_key_reused" });
  });

  it("answers 409 (ABORTED, idempotency_key_in_use) while the first request is still running, then replays it", async () => {
    const name = `slow-${tag}`;
    const gate = { entered: deferred(), open: deferred() };
    gates.set(name, gate);
    const first = create(name, `key-${tag}`);
    await gate.entered.promise;
    const during = await create(name, `key-${tag}`);
    expect(during.error?.code).toBe(grpc.status.ABORTED);
    expect(during.detail).toMatchObject({ type: "idempotency_error", code: "idempotency_key_in_use" });
    gate.open.resolve();
    const done = await first;
    expect(done.error).toBeUndefined();
    const after = await create(name, `key-${tag}`);
    expect(after.value).toEqual(done.value);
    expect(after.headers["idempotent-replayed"]).toBe("true");
    expect(runs.get(name)).toBe(1);
  });

  it("runs 20 concurrent requests with one key exactly once; the others replay it or get 409", async () => {
    const name = `race-${tag}`;
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => create(name, `key-${tag}`)));
    expect(runs.get(name)).toBe(1);
    const ok = outcomes.filter((o) => !o.error);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    const ids = new Set(ok.map((o) => o.value?.customer?.id));
    expect(ids.size).toBe(1);
    for (const o of outcomes.filter((o) => o.error)) {
      expect(o.error?.code).toBe(grpc.status.ABORTED);
      expect(o.detail?.code).toBe("idempotency_key_in_use");
    }
    // Once settled, every retry gets that one customer.
    const retry = await create(name, `key-${tag}`);
    expect(retry.value?.customer?.id).toBe([...ids][0]);
  });

  it("answers 409 to all 19 others while the one request that claimed the key is held inside its handler", async () => {
    const name = `held-${tag}`;
    const gate = { entered: deferred(), open: deferred() };
    gates.set(name, gate);
    let settled = 0;
    const all = Array.from({ length: 20 }, () => create(name, `key-${tag}`).finally(() => settled++));
    await gate.entered.promise;
    // Open the gate only once the 19 others have their answers.
    while (settled < 19) await new Promise((r) => setImmediate(r));
    gate.open.resolve();
    const outcomes = await Promise.all(all);
    expect(outcomes.filter((o) => !o.error)).toHaveLength(1);
    expect(outcomes.filter((o) => o.detail?.code === "idempotency_key_in_use")).toHaveLength(19);
    expect(runs.get(name)).toBe(1);
  });

  it("claims a key once across two cores (separate connections, as two processes) on one database", async () => {
    const second = await createCore({ databaseUrl: core.databaseUrl, handlers: testHandlers, migrate: false });
    try {
      const name = `two-cores-${tag}`;
      const bytes = CreateCustomerRequest.encode(CreateCustomerRequest.fromPartial({ name })).finish();
      const md = { authorization: `Bearer ${core.keys.secret}`, "idempotency-key": `key-${tag}` };
      const path = "/payments.v1.CustomerService/CreateCustomer";
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? second.pipeline : core.pipeline).unary(path, bytes, md)),
      );
      expect(runs.get(name)).toBe(1);
      const ok = results.filter((r) => r.code === 0);
      expect(new Set(ok.map((r) => Buffer.from(r.response!).toString("hex"))).size).toBe(1);
      for (const r of results.filter((r) => r.code !== 0)) expect(r.error?.code).toBe("idempotency_key_in_use");
    } finally {
      await second.close();
    }
  });

  it("keeps keys apart per merchant and per mode", async () => {
    const name = `scope-${tag}`;
    const key = `key-${tag}`;
    const test = await create(name, key, core.keys.secret);
    const live = await create(name, key, core.keys.liveSecret);
    const other = await create(name, key, core.otherMerchant.secret);
    for (const o of [test, live, other]) {
      expect(o.error).toBeUndefined();
      expect(o.headers["idempotent-replayed"]).toBeUndefined();
    }
    expect(new Set([test, live, other].map((o) => o.value?.customer?.id)).size).toBe(3);
    expect(runs.get(name)).toBe(3);
  });

  it("runs every request without a key", async () => {
    const name = `nokey-${tag}`;
    const a = await create(name, undefined);
    const b = await create(name, undefined);
    expect(a.value?.customer?.id).not.toBe(b.value?.customer?.id);
    expect(runs.get(name)).toBe(2);
  });

  it("refuses a key longer than 255 characters", async () => {
    const out = await create(`long-${tag}`, "k".repeat(256));
    expect(out.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(out.detail).toMatchObject({ type: "invalid_request_error", param: "idempotency_key" });
    expect(runs.get(`long-${tag}`)).toBeUndefined();
  });

  it("takes over a claim abandoned by a crashed process once it has expired", async () => {
    const name = `abandoned-${tag}`;
    const key = `key-${tag}`;
    const now = core.deps.now();
    // What a process that died mid-request leaves behind: an in-flight claim.
    await core.deps.db("idempotency_keys").insert({
      merchant_id: core.merchantId,
      livemode: false,
      key,
      method: "/payments.v1.CustomerService/CreateCustomer",
      request_hash: "0".repeat(64),
      state: "in_flight",
      claim: "dead-process",
      created: now - 120,
      expires: now - 60,
    });
    const out = await create(name, key);
    expect(out.error).toBeUndefined();
    expect(runs.get(name)).toBe(1);
    const replay = await create(name, key);
    expect(replay.value).toEqual(out.value);
  });

  it("prunes results past their replay window and keeps the rest", async () => {
    const now = core.deps.now();
    const row = (key: string, expires: number) => ({
      merchant_id: core.merchantId,
      livemode: false,
      key,
      method: "/payments.v1.CustomerService/CreateCustomer",
      request_hash: "0".repeat(64),
      state: "done",
      claim: "c",
      response_code: 0,
      created: now - 90_000,
      expires,
    });
    await core.deps.db("idempotency_keys").insert([row(`old-${tag}`, now - 1), row(`fresh-${tag}`, now + 3600)]);
    expect(await core.core.idempotency.prune()).toBeGreaterThanOrEqual(1);
    const left = await core.deps.db("idempotency_keys").whereIn("key", [`old-${tag}`, `fresh-${tag}`]).pluck("key");
    expect(left).toEqual([`fresh-${tag}`]);
  });
});
