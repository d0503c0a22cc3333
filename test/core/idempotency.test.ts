// Idempotency-Key through the real core over gRPC, on the real store on each
// database. CreateCustomer is answered by a handler of the test's own that
// counts its runs, so "the handler ran once" is observed, not assumed.
import { randomBytes } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CreateCustomerRequest, CustomerServiceClient, UpdateCustomerRequest } from "../../gen/payments/v1/customers";
import { PaymentIntentServiceClient, CreatePaymentIntentRequest } from "../../gen/payments/v1/payment_intents";
import { PaymentMethodServiceClient } from "../../gen/payments/v1/payment_methods";
import { createCore } from "../../server/app";
import type { CoreDeps } from "../../server/deps";
import { allHandlers } from "../../server/services";
import { concurrentUpdate, invalidParam, unavailable } from "../../server/errors";
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
      if (name.startsWith("aborted") && runs.get(name) === 1) throw concurrentUpdate("customer", "cus_x");
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

  it("does not keep a 'retry' (ABORTED, e.g. a concurrent update won) answer: the retry runs afresh", async () => {
    const name = `aborted-${tag}`;
    const first = await create(name, `key-${tag}`);
    expect(first.error?.code).toBe(grpc.status.ABORTED);
    expect(first.detail).toMatchObject({ code: "lock_timeout" });
    const rows = await core.deps.db("idempotency_keys").where({ merchant_id: core.merchantId, key: `sk:key-${tag}` });
    expect(rows).toHaveLength(0);
    const retry = await create(name, `key-${tag}`);
    expect(retry.error).toBeUndefined();
    expect(retry.headers["idempotent-replayed"]).toBeUndefined();
    expect(runs.get(name)).toBe(2);
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
      key: `sk:${key}`, // stored per key type
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

// The same guarantees with the real payment handlers: one key never creates
// two intents or two charges. The only addition to the real handler is a
// gate (in front of it, or behind it once it has committed) that holds the
// request as long as the test wants; the core's clock is the test's, so "the
// claim has outlived inFlightSeconds" is a fact, not a sleep.
describe.each(BACKENDS)("Idempotency-Key with the real payment handlers (%s)", (backend) => {
  let core: TestCore;
  let pis: PaymentIntentServiceClient;
  let pms: PaymentMethodServiceClient;
  let clock: number;
  let pm: string;
  let tag: string;
  const warnings: string[] = [];
  /** Gates by intent description: `before-…` waits before the real handler, `after-…` after it returned. */
  const realGates = new Map<string, { entered: Deferred; open: Deferred }>();

  const gated = (deps: CoreDeps): ServiceHandlers => {
    const real = allHandlers(deps);
    const intents = real.PaymentIntentService!;
    const create = intents.createPaymentIntent!.bind(intents);
    return {
      ...real,
      PaymentIntentService: {
        ...intents,
        createPaymentIntent: async (ctx, req) => {
          const gate = realGates.get(req.description ?? "");
          if (gate && req.description!.startsWith("before-")) {
            gate.entered.resolve();
            await gate.open.promise;
          }
          const out = await create(ctx, req);
          if (gate && req.description!.startsWith("after-")) {
            gate.entered.resolve();
            await gate.open.promise;
          }
          return out;
        },
      },
    };
  };

  beforeAll(async () => {
    clock = Math.floor(Date.now() / 1000);
    core = await startTestCore({
      backend,
      now: () => clock,
      handlers: gated,
      // A claim lives 1 s without its heartbeat (renewed every ~333 ms).
      idempotency: { inFlightSeconds: 1, logger: { warn: (_fields, message) => warnings.push(message) } },
    });
    pis = core.client(PaymentIntentServiceClient);
    pms = core.client(PaymentMethodServiceClient);
    const card = await call(pms, "createPaymentMethod", { type: "card", card: { number: "4242424242424242", exp_month: 12, exp_year: 2040, cvc: "123" }, metadata: {} }, core.metadata(core.keys.secret));
    pm = card.value!.payment_method!.id;
  });
  afterAll(() => core?.close());
  beforeEach(() => {
    tag = randomBytes(6).toString("hex");
    warnings.length = 0;
  });

  const createIntent = (description: string, key: string) =>
    call(pis, "createPaymentIntent", CreatePaymentIntentRequest.fromPartial({ amount: 1500, currency: "usd", payment_method: pm, confirm: true, description }), core.metadata(core.keys.secret, { "idempotency-key": key }));
  const intentsOf = (description: string) => core.deps.db("payment_intents").where({ merchant_id: core.merchantId, description });
  const chargesOf = async (description: string) =>
    core.deps.db("charges").whereIn("payment_intent", (await intentsOf(description)).map((r) => r.id));
  const record = (key: string) => core.deps.db("idempotency_keys").where({ merchant_id: core.merchantId, livemode: false, key: `sk:${key}` }).first();
  const gate = (description: string) => {
    const g = { entered: deferred(), open: deferred() };
    realGates.set(description, g);
    return g;
  };

  it("20 concurrent confirming creates with one key make one intent and one charge", async () => {
    const description = `race-${tag}`;
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => createIntent(description, `key-${tag}`)));
    expect(await intentsOf(description)).toHaveLength(1);
    expect(await chargesOf(description)).toHaveLength(1);
    const ok = outcomes.filter((o) => !o.error);
    expect(new Set(ok.map((o) => o.value!.payment_intent!.id)).size).toBe(1);
    for (const o of outcomes.filter((o) => o.error)) expect(o.detail?.code).toBe("idempotency_key_in_use");
    expect(ok[0].value!.payment_intent!.status).toBe("succeeded");
  });

  it("keeps a slow first request's claim alive past inFlightSeconds (heartbeat): a retry gets 409, never a second intent", async () => {
    const description = `before-${tag}`;
    const g = gate(description);
    const first = createIntent(description, `key-${tag}`);
    await g.entered.promise;
    const claimed = await record(`key-${tag}`);
    expect(claimed.state).toBe("in_flight");
    // Ten claim lifetimes pass; without its heartbeat the claim would now be abandoned.
    clock += 10;
    await waitUntil(async () => Number((await record(`key-${tag}`)).expires) > clock);
    const retry = await createIntent(description, `key-${tag}`);
    expect(retry.error?.code).toBe(grpc.status.ABORTED);
    expect(retry.detail?.code).toBe("idempotency_key_in_use");
    g.open.resolve();
    const done = await first;
    expect(done.error).toBeUndefined();
    const replay = await createIntent(description, `key-${tag}`);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(replay.value).toEqual(done.value);
    expect(await intentsOf(description)).toHaveLength(1);
    expect(await chargesOf(description)).toHaveLength(1);
    expect(warnings).toEqual([]);
  });

  it.runIf(backend === "postgres")("holds the claim while the real handler waits on a lock held by another transaction", async () => {
    const description = `locked-${tag}`;
    // Another transaction holds the merchant's event lock: the real handler blocks inside its own transaction.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const lockTaken = new Promise<void>((r) => (locked = r));
    const holder = core.deps.db.transaction(async (trx) => {
      await trx.raw("select pg_advisory_xact_lock(hashtext(?))", [`events:${core.merchantId}:test`]);
      locked();
      await released;
    });
    await lockTaken;
    const first = createIntent(description, `key-${tag}`);
    // The handler is inside its transaction, waiting for the lock.
    await waitUntil(async () => {
      const rows = await core.deps.db.raw("select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted and database = (select oid from pg_database where datname = current_database())");
      return rows.rows[0].n > 0;
    });
    clock += 10;
    await waitUntil(async () => Number((await record(`key-${tag}`)).expires) > clock);
    const retry = await createIntent(description, `key-${tag}`);
    expect(retry.detail?.code).toBe("idempotency_key_in_use");
    release();
    await holder;
    const done = await first;
    expect(done.value?.payment_intent?.status).toBe("succeeded");
    expect((await createIntent(description, `key-${tag}`)).value).toEqual(done.value);
    expect(await intentsOf(description)).toHaveLength(1);
    expect(await chargesOf(description)).toHaveLength(1);
  });

  it("marks the key applied in the handler's own transaction: after a crash before the answer was stored, a retry gets 409 and runs nothing", async () => {
    const description = `after-${tag}`;
    const g = gate(description);
    const first = createIntent(description, `key-${tag}`);
    await g.entered.promise; // the real handler has committed; its result is not stored yet
    expect((await record(`key-${tag}`)).state).toBe("applied");
    expect(await intentsOf(description)).toHaveLength(1);
    // What a process that died right here leaves behind: the applied record, whose claim nobody renews.
    await core.deps.db("idempotency_keys").where({ merchant_id: core.merchantId, key: `sk:key-${tag}` }).update({ claim: "dead-process", expires: clock - 1 });
    const retry = await createIntent(description, `key-${tag}`);
    expect(retry.error?.code).toBe(grpc.status.ABORTED);
    expect(retry.detail).toMatchObject({ type: "idempotency_error", code: "idempotency_key_in_use" });
    expect(retry.detail?.message).toContain("was applied");
    expect(await intentsOf(description)).toHaveLength(1);
    // The "dead" request wakes up: its caller gets its answer; it notices it lost the claim and says so.
    g.open.resolve();
    expect((await first).value?.payment_intent?.status).toBe("succeeded");
    expect(warnings).toContain("idempotency claim lost: the result of this request was not stored");
    // The record stays applied for the replay window (prune keeps it too).
    await core.core.idempotency.prune();
    expect((await createIntent(description, `key-${tag}`)).detail?.message).toContain("was applied");
    expect(await chargesOf(description)).toHaveLength(1);
  });

  it("rolls the handler's transaction back when its claim was taken over meanwhile", async () => {
    const description = `before-${tag}`;
    const g = gate(description);
    const first = createIntent(description, `key-${tag}`);
    await g.entered.promise;
    // Another request took the key over (as after this process stalled past the claim's life).
    await core.deps.db("idempotency_keys").where({ merchant_id: core.merchantId, key: `sk:key-${tag}` }).update({ claim: "another-request" });
    g.open.resolve();
    const out = await first;
    expect(out.detail?.code).toBe("idempotency_key_in_use");
    expect(await intentsOf(description)).toHaveLength(0);
    expect((await record(`key-${tag}`)).claim).toBe("another-request");
  });

  it("keeps publishable and secret keys apart: a pk call cannot take the merchant's sk idempotency key", async () => {
    const req = { type: "card", card: { number: "4242424242424242", exp_month: 12, exp_year: 2040, cvc: "123" }, metadata: {} };
    const key = `shared-${tag}`;
    const byPk = await call(pms, "createPaymentMethod", req, core.metadata(core.keys.publishable, { "idempotency-key": key }));
    const bySk = await call(pms, "createPaymentMethod", req, core.metadata(core.keys.secret, { "idempotency-key": key }));
    expect(byPk.error).toBeUndefined();
    expect(bySk.error).toBeUndefined();
    expect(bySk.headers["idempotent-replayed"]).toBeUndefined();
    expect(bySk.value!.payment_method!.id).not.toBe(byPk.value!.payment_method!.id);
    const pkAgain = await call(pms, "createPaymentMethod", req, core.metadata(core.keys.publishable, { "idempotency-key": key }));
    expect(pkAgain.headers["idempotent-replayed"]).toBe("true");
    expect(pkAgain.value).toEqual(byPk.value);
  });

  it("keeps no client secret in the clear: stored responses are sealed, and replay them intact", async () => {
    const description = `secret-${tag}`;
    const first = await createIntent(description, `key-${tag}`);
    const secret = first.value!.payment_intent!.client_secret!;
    expect(secret).toContain("_secret_");
    const again = await createIntent(description, `key-${tag}`);
    expect(again.value!.payment_intent!.client_secret).toBe(secret);
    const rows = await core.deps.db("idempotency_keys").where({ merchant_id: core.merchantId });
    const dump = rows
      .flatMap((r) => Object.values(r as Record<string, unknown>))
      .map((v) => (v instanceof Uint8Array ? Buffer.from(v).toString("latin1") : String(v)))
      .join("\n");
    expect(dump).toContain(`sk:key-${tag}`); // the search does see this request's record
    expect(dump).not.toContain("_secret_");
    expect(dump).not.toContain(first.value!.payment_intent!.id);
  });
});

/** Polls `check` until it holds (5 s at most). */
async function waitUntil(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in 5 s");
    await new Promise((r) => setTimeout(r, 20));
  }
}
