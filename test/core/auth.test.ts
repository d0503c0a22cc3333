// API key authentication through the real core over gRPC: every failure mode
// of the Authorization metadata, revocation, suspension, and the
// publishable-key limit. A GetPaymentIntent handler of the test's own reports
// which caller the core saw, so success is checked too.
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PaymentIntent, PaymentIntentServiceClient } from "../../gen/payments/v1/payment_intents";
import { CreateRefundRequest, RefundServiceClient } from "../../gen/payments/v1/refunds";
import type { ServiceHandlers } from "../../server/methods";
import { createApiKey, revokeApiKey, setMerchantActive } from "../../server/merchants/service";
import { BACKENDS, startTestCore, type TestCore } from "../support/core";
import { call } from "../support/grpc";

/** GetPaymentIntent (open to publishable keys) answers with the caller: id = merchant, description = key type, customer_id = key id. */
const whoAmI = (): ServiceHandlers => ({
  PaymentIntentService: {
    getPaymentIntent: async (ctx) => ({
      payment_intent: PaymentIntent.fromPartial({
        id: ctx.caller.merchantId,
        object: "payment_intent",
        description: ctx.caller.keyType,
        customer_id: ctx.caller.keyId,
        livemode: ctx.caller.livemode,
      }),
    }),
  },
});

describe.each(BACKENDS)("API key authentication (%s)", (backend) => {
  let core: TestCore;
  let intents: PaymentIntentServiceClient;
  let refunds: RefundServiceClient;

  beforeAll(async () => {
    // A short cache, so revocation and suspension are visible within the test's patience.
    core = await startTestCore({ backend, handlers: whoAmI, authCacheMs: 200 });
    intents = core.client(PaymentIntentServiceClient);
    refunds = core.client(RefundServiceClient);
  });
  afterAll(() => core?.close());

  const whoAmICall = (md: grpc.Metadata) => call(intents, "getPaymentIntent", { id: "pi_x" }, md);
  const withAuthorization = (value?: string) => {
    const md = new grpc.Metadata();
    if (value !== undefined) md.set("authorization", value);
    return md;
  };

  it("accepts each of the four key kinds and reports the right caller", async () => {
    const cases = [
      [core.keys.secret, "secret", false],
      [core.keys.publishable, "publishable", false],
      [core.keys.liveSecret, "secret", true],
      [core.keys.livePublishable, "publishable", true],
    ] as const;
    for (const [key, keyType, livemode] of cases) {
      const out = await whoAmICall(core.metadata(key));
      expect(out.error).toBeUndefined();
      expect(out.value?.payment_intent).toMatchObject({ id: core.merchantId, description: keyType, livemode });
      expect(out.headers["request-id"]).toMatch(/^req_/);
    }
    const other = await whoAmICall(core.metadata(core.otherMerchant.secret));
    expect(other.value?.payment_intent?.id).toBe(core.otherMerchant.id);
  });

  it("refuses a missing key with invalid_api_key (UNAUTHENTICATED)", async () => {
    const out = await whoAmICall(withAuthorization());
    expect(out.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(out.detail).toMatchObject({ type: "authentication_error", code: "invalid_api_key" });
    expect(out.detail?.message).toMatch(/did not provide an API key/);
    expect(out.detail?.request_id).toMatch(/^req_/);
  });

  it("refuses an authorization header that is not Bearer", async () => {
    const out = await whoAmICall(withAuthorization(`Basic ${core.keys.secret}`));
    expect(out.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(out.detail).toMatchObject({ type: "authentication_error", code: "invalid_api_key" });
  });

  it("refuses a key of the wrong format", async () => {
    for (const bad of ["rk_test_abc", "sk_prod_abc", "sk_test_", "sk_test_abc def", "sk_test_abc!"]) {
      const out = await whoAmICall(withAuthorization(`Bearer ${bad}`));
      expect(out.error?.code, bad).toBe(grpc.status.UNAUTHENTICATED);
      expect(out.detail, bad).toMatchObject({ type: "authentication_error", code: "invalid_api_key" });
    }
    const out = await whoAmICall(withAuthorization("Bearer rk_test_abc"));
    expect(out.detail?.message).toMatch(/format/);
  });

  it("refuses a well-formed but unknown key without echoing it", async () => {
    const unknown = "sk_test_0000000000000000000000000000abcd";
    const out = await whoAmICall(core.metadata(unknown));
    expect(out.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(out.detail).toMatchObject({ type: "authentication_error", code: "invalid_api_key" });
    expect(out.detail?.message).not.toContain(unknown);
    expect(out.detail?.message).toContain("abcd");
  });

  it("stops accepting a revoked key within the cache lifetime", async () => {
    const created = await createApiKey(core.deps.db, core.merchantId, { kind: "sk", livemode: false });
    expect((await whoAmICall(core.metadata(created.key))).value?.payment_intent?.customer_id).toBe(created.id);
    expect(await revokeApiKey(core.deps.db, created.id)).toBe(true);
    const out = await pollUntil(() => whoAmICall(core.metadata(created.key)), (o) => o.error !== undefined, 3000);
    expect(out.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(out.detail).toMatchObject({ type: "authentication_error", code: "invalid_api_key" });
    // The merchant's other keys are untouched.
    expect((await whoAmICall(core.metadata(core.keys.secret))).error).toBeUndefined();
  });

  it("refuses every key of a suspended merchant with 403 Account suspended, and accepts them again once reinstated", async () => {
    const victim = core.otherMerchant;
    expect(await setMerchantActive(core.deps.db, victim.id, false)).toBe(true);
    const out = await pollUntil(() => whoAmICall(core.metadata(victim.secret)), (o) => o.error !== undefined, 3000);
    expect(out.error?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(out.detail).toMatchObject({ type: "authentication_error", code: "account_suspended", message: "Account suspended" });
    const pk = await whoAmICall(core.metadata(victim.publishable));
    expect(pk.detail?.code).toBe("account_suspended");
    expect(await setMerchantActive(core.deps.db, victim.id, true)).toBe(true);
    const back = await pollUntil(() => whoAmICall(core.metadata(victim.secret)), (o) => o.error === undefined, 3000);
    expect(back.value?.payment_intent?.id).toBe(victim.id);
  });

  it("refuses a publishable key on a secret-only method with 403 unauthorized", async () => {
    for (const key of [core.keys.publishable, core.keys.livePublishable]) {
      const out = await call(refunds, "createRefund", CreateRefundRequest.fromPartial({ payment_intent: "pi_x" }), core.metadata(key));
      expect(out.error?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(out.detail).toMatchObject({ type: "authentication_error", code: "unauthorized" });
      expect(out.detail?.message).toMatch(/secret API key/);
    }
    // A secret key gets past auth (the method itself is not built in this core).
    const ok = await call(refunds, "createRefund", CreateRefundRequest.fromPartial({ payment_intent: "pi_x" }), core.metadata(core.keys.secret));
    expect(ok.error?.code).toBe(grpc.status.UNIMPLEMENTED);
  });
});

/** Calls `fn` until `done(result)` or the deadline; returns the last result. */
async function pollUntil<T>(fn: () => Promise<T>, done: (t: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await fn();
    if (done(result) || Date.now() > deadline) return result;
    await new Promise((r) => setImmediate(r));
  }
}
