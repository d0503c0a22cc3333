// The method table: every RPC of the contract, its codecs (from gen/), and
// the policy the pipeline applies to it. One place decides who may call what.
import { ChargeServiceService } from "../gen/payments/v1/charges";
import { CustomerServiceService } from "../gen/payments/v1/customers";
import { EventServiceService } from "../gen/payments/v1/events";
import { PaymentIntentServiceService } from "../gen/payments/v1/payment_intents";
import { PaymentMethodServiceService } from "../gen/payments/v1/payment_methods";
import { ReceiptServiceService } from "../gen/payments/v1/receipts";
import { RefundServiceService } from "../gen/payments/v1/refunds";
import { WebhookEndpointServiceService } from "../gen/payments/v1/webhook_endpoints";
import type { Access, AuthedContext, CallContext, RateClass } from "./pipeline/types";

/** The generated service definitions, by service name. */
export const SERVICES = {
  PaymentIntentService: PaymentIntentServiceService,
  PaymentMethodService: PaymentMethodServiceService,
  CustomerService: CustomerServiceService,
  ChargeService: ChargeServiceService,
  RefundService: RefundServiceService,
  EventService: EventServiceService,
  WebhookEndpointService: WebhookEndpointServiceService,
  ReceiptService: ReceiptServiceService,
} as const;

type Definition = Record<
  string,
  {
    path: string;
    responseStream: boolean;
    requestDeserialize(b: Buffer): unknown;
    responseSerialize(v: never): Buffer;
  }
>;

/** The handlers of one service, typed from its generated definition. */
export type Handlers<D, Ctx = AuthedContext> = {
  [K in keyof D]: D[K] extends {
    responseStream: true;
    requestDeserialize(b: Buffer): infer Req;
    responseSerialize(v: infer Res): Buffer;
  }
    ? (ctx: Ctx, req: Req, send: (res: Res) => Promise<void>) => Promise<void>
    : D[K] extends { requestDeserialize(b: Buffer): infer Req; responseSerialize(v: infer Res): Buffer }
      ? (ctx: Ctx, req: Req) => Promise<Res>
      : never;
};

/** Methods that need no API key. */
const PUBLIC = new Set(["/payments.v1.ReceiptService/GetReceipt"]);

/** Methods a publishable key may call (the handler checks the client secret where one is needed). */
const PUBLISHABLE = new Set([
  "/payments.v1.PaymentMethodService/CreatePaymentMethod",
  "/payments.v1.PaymentIntentService/GetPaymentIntent",
  "/payments.v1.PaymentIntentService/ConfirmPaymentIntent",
  "/payments.v1.PaymentIntentService/AuthenticatePaymentIntent",
]);

/** One RPC as the pipeline sees it. */
export interface MethodInfo {
  path: string;
  service: string;
  /** The generated (lowerCamel) method name, the key of its handler. */
  name: string;
  serverStreaming: boolean;
  access: Access;
  /** Changes state: honours Idempotency-Key. */
  mutating: boolean;
  rateClass: RateClass;
  decode(bytes: Uint8Array): unknown;
  encode(message: unknown): Uint8Array;
}

function policy(path: string, service: string): Pick<MethodInfo, "access" | "mutating" | "rateClass"> {
  const rpc = path.slice(path.lastIndexOf("/") + 1);
  return {
    access: PUBLIC.has(path) ? "public" : PUBLISHABLE.has(path) ? "publishable" : "secret",
    mutating: !/^(Get|List|Stream)/.test(rpc),
    // The API design's `payment_creation` class covers every /payment_intents route.
    rateClass: service === "PaymentIntentService" ? "payment_creation" : "default",
  };
}

/** Every method of the contract, by path. */
export const METHODS: ReadonlyMap<string, MethodInfo> = new Map(
  Object.entries(SERVICES).flatMap(([service, def]) =>
    Object.entries(def as unknown as Definition).map(([name, m]): [string, MethodInfo] => [
      m.path,
      {
        path: m.path,
        service,
        name,
        serverStreaming: m.responseStream,
        ...policy(m.path, service),
        decode: (bytes) => m.requestDeserialize(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
        encode: (message) => m.responseSerialize(message as never),
      },
    ]),
  ),
);

/** A handler as the pipeline calls it, untyped. */
export type AnyHandler = (ctx: CallContext, req: unknown, send?: (res: unknown) => Promise<void>) => Promise<unknown>;

/** Handlers of every service, keyed by service name. Services not yet built may be absent. */
export type ServiceHandlers = {
  [S in keyof typeof SERVICES]?: Partial<Handlers<(typeof SERVICES)[S], S extends "ReceiptService" ? CallContext : AuthedContext>>;
};
