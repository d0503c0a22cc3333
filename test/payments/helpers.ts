// Shared helpers of the payments suites: typed clients on a test core and
// shortcuts for the common setup calls.
import { expect } from "vitest";
import { ChargeServiceClient } from "../../gen/payments/v1/charges";
import { CustomerServiceClient } from "../../gen/payments/v1/customers";
import { PaymentIntentServiceClient, type CreatePaymentIntentRequest, type PaymentIntent } from "../../gen/payments/v1/payment_intents";
import { PaymentMethodServiceClient } from "../../gen/payments/v1/payment_methods";
import { ReceiptServiceClient } from "../../gen/payments/v1/receipts";
import { RefundServiceClient } from "../../gen/payments/v1/refunds";
import { startTestCore, type Backend, type TestCore, type TestCoreOptions } from "../support/core";
import { call, type Outcome } from "../support/grpc";

/** A far-enough expiry year for test cards. */
export const EXP_YEAR = new Date().getUTCFullYear() + 3;

/** A test core with one client per payments service. */
export interface PaymentsCore {
  core: TestCore;
  pi: PaymentIntentServiceClient;
  pm: PaymentMethodServiceClient;
  cus: CustomerServiceClient;
  ch: ChargeServiceClient;
  re: RefundServiceClient;
  receipts: ReceiptServiceClient;
  /** Metadata with the main merchant's test secret key. */
  sk: () => import("@grpc/grpc-js").Metadata;
  /** Creates a card payment method with the test secret key (or `key`); returns its id. */
  card(number: string, key?: string): Promise<string>;
  /** Creates an intent (secret key) and returns it; fails the test on error. */
  intent(req: Partial<CreatePaymentIntentRequest>): Promise<PaymentIntent>;
  close(): Promise<void>;
}

/** Starts a core on `backend` with payments clients (`opts`: e.g. handlers with another processor). */
export async function startPayments(backend: Backend, opts: TestCoreOptions = {}): Promise<PaymentsCore> {
  const core = await startTestCore({ ...opts, backend });
  const pi = core.client(PaymentIntentServiceClient);
  const pm = core.client(PaymentMethodServiceClient);
  const sk = () => core.metadata(core.keys.secret);
  return {
    core,
    pi,
    pm,
    cus: core.client(CustomerServiceClient),
    ch: core.client(ChargeServiceClient),
    re: core.client(RefundServiceClient),
    receipts: core.client(ReceiptServiceClient),
    sk,
    async card(number, key = core.keys.secret) {
      const out = await call(pm, "createPaymentMethod", { type: "card", card: { number, exp_month: 12, exp_year: EXP_YEAR, cvc: number.startsWith("3") && number.length === 15 ? "1234" : "123" }, metadata: {} }, core.metadata(key));
      expect(out.detail, JSON.stringify(out.detail)).toBeUndefined();
      return out.value!.payment_method!.id;
    },
    async intent(req) {
      const out = await call(pi, "createPaymentIntent", { amount: 2000, currency: "usd", payment_method_types: [], metadata: {}, ...req }, sk());
      expect(out.detail, JSON.stringify(out.detail)).toBeUndefined();
      return out.value!.payment_intent!;
    },
    close: () => core.close(),
  };
}

/** Asserts a failed call and returns its error object. */
export function failed<T>(out: Outcome<T>) {
  expect(out.value, "expected the call to fail").toBeUndefined();
  expect(out.detail).toBeDefined();
  return out.detail!;
}

/** Asserts a successful call and returns its response. */
export function ok<T>(out: Outcome<T>): T {
  expect(out.detail, JSON.stringify(out.detail)).toBeUndefined();
  return out.value!;
}

export { call };
