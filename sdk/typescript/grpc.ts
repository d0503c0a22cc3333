// A thin helper over the generated grpc-js clients for internal services:
//
//   const payments = createClient("payments-core:50051", "sk_test_...");
//   const { payment_intent } = await payments.paymentIntents.create({ amount: 2000, currency: "usd" });
//
// It sets the API key as `authorization` metadata, an Idempotency-Key on every
// mutating call (kept across grpc-js's own retries), a deadline per call, and
// a retry policy for UNAVAILABLE/ABORTED through the gRPC service config.
// Failures reject with the SDK's typed errors, built from the ErrorDetail in
// `grpc-status-details-bin`.
import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import * as charges from "../../gen/payments/v1/charges";
import type { ErrorDetail } from "../../gen/payments/v1/common";
import * as customers from "../../gen/payments/v1/customers";
import * as events from "../../gen/payments/v1/events";
import * as paymentIntents from "../../gen/payments/v1/payment_intents";
import * as paymentMethods from "../../gen/payments/v1/payment_methods";
import * as refunds from "../../gen/payments/v1/refunds";
import * as webhookEndpoints from "../../gen/payments/v1/webhook_endpoints";
// The gateway's one gRPC→HTTP table and details decoder, so a gRPC caller sees the
// same statusCode a REST caller gets for the same error (esbuild bundles them in).
import { decodeStatusDetails, httpStatusOf } from "../../gateway/errors";
import { APIConnectionError, APIError, errorClassFor, type PaymentsError } from "./errors";

/** Options of createClient. */
export interface GrpcClientOptions {
  /** Deadline of each call, in milliseconds. Default 10000. */
  timeoutMs?: number;
  /** Attempts per call (first + retries) on UNAVAILABLE or ABORTED. Default 4 (gRPC caps it at 5). */
  maxAttempts?: number;
  /** Channel credentials. Default insecure (a sidecar or private network); pass grpc.credentials.createSsl() for TLS. */
  credentials?: grpc.ChannelCredentials;
  /** Extra channel options. */
  channelOptions?: grpc.ChannelOptions;
}

/** Per-call options. */
export interface GrpcCallOptions {
  timeoutMs?: number;
  idempotencyKey?: string;
  /** Extra metadata entries. */
  metadata?: Record<string, string>;
}

type AnyDef = {
  path: string;
  responseStream: boolean;
  requestSerialize(value: never): Buffer;
  responseDeserialize(bytes: Buffer): unknown;
};

/** The promise-returning shape of one generated method. */
type Call<M> = M extends { responseStream: true; requestSerialize(v: infer Req): Buffer; responseDeserialize(b: Buffer): infer Res }
  ? (request?: Partial<Req>, options?: GrpcCallOptions) => grpc.ClientReadableStream<Res>
  : M extends { requestSerialize(v: infer Req): Buffer; responseDeserialize(b: Buffer): infer Res }
    ? (request?: Partial<Req>, options?: GrpcCallOptions) => Promise<Res>
    : never;

/** `createPaymentIntent` → `create`, `listPaymentIntents` → `list` (noun dropped, singular or plural). */
type Short<K extends string, N extends string> = K extends `${infer A}${N}s${infer B}` ? `${A}${B}` : K extends `${infer A}${N}${infer B}` ? `${A}${B}` : K;

/** A service's methods under their short names. */
export type ServiceClient<D, N extends string> = { [K in keyof D & string as Short<K, N>]: Call<D[K]> } & { readonly raw: grpc.Client };

const RESOURCES = {
  paymentIntents: { module: paymentIntents, def: paymentIntents.PaymentIntentServiceService, noun: "PaymentIntent" },
  paymentMethods: { module: paymentMethods, def: paymentMethods.PaymentMethodServiceService, noun: "PaymentMethod" },
  customers: { module: customers, def: customers.CustomerServiceService, noun: "Customer" },
  charges: { module: charges, def: charges.ChargeServiceService, noun: "Charge" },
  refunds: { module: refunds, def: refunds.RefundServiceService, noun: "Refund" },
  events: { module: events, def: events.EventServiceService, noun: "Event" },
  webhookEndpoints: { module: webhookEndpoints, def: webhookEndpoints.WebhookEndpointServiceService, noun: "WebhookEndpoint" },
} as const;

type Resources = typeof RESOURCES;

/** The clients createClient returns, one per resource service. */
export type PaymentsGrpcClient = {
  [R in keyof Resources]: ServiceClient<Resources[R]["def"], Resources[R]["noun"]>;
} & { close(): void };

/** The gRPC service config: deadline and retry policy for every payments.v1 service. */
export function serviceConfig(timeoutMs: number, maxAttempts: number): string {
  return JSON.stringify({
    methodConfig: [
      {
        name: Object.values(RESOURCES).map((r) => ({ service: (Object.values(r.def)[0] as AnyDef).path.split("/")[1] })),
        timeout: `${(timeoutMs / 1000).toFixed(3)}s`,
        retryPolicy: {
          maxAttempts,
          initialBackoff: "0.1s",
          maxBackoff: "2s",
          backoffMultiplier: 2,
          // ABORTED is an in-flight idempotency conflict; UNAVAILABLE a core that is down or restarting.
          retryableStatusCodes: ["UNAVAILABLE", "ABORTED"],
        },
      },
    ],
  });
}

/** Decodes google.rpc.Status bytes and returns its ErrorDetail, if any (never throws: malformed details give undefined). */
export function errorDetailOf(statusDetails: Uint8Array | undefined): ErrorDetail | undefined {
  return statusDetails ? decodeStatusDetails(statusDetails) : undefined;
}

/** A grpc-js ServiceError → the SDK's typed error. */
export function toPaymentsError(err: grpc.ServiceError): PaymentsError {
  const raw = errorDetailOf(err.metadata?.get("grpc-status-details-bin")[0] as Buffer | undefined);
  if (!raw) {
    // No error object: the core was not reached (or not in time), or something else answered.
    const unreached = err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED;
    const Class = unreached ? APIConnectionError : APIError;
    return new Class(err.details || err.message, { type: unreached ? "api_connection_error" : "api_error", statusCode: unreached ? 0 : httpStatusOf(err.code) });
  }
  const Class = errorClassFor(raw.type);
  return new Class(raw.message, { type: raw.type, statusCode: httpStatusOf(err.code, raw.type), raw });
}

function shortName(method: string, noun: string): string {
  if (method.includes(`${noun}s`)) return method.replace(`${noun}s`, "");
  if (method.includes(noun)) return method.replace(noun, "");
  return method;
}

/** Connects to the core at `target` (`host:port`) with an API key; every call is one line and returns a promise. */
export function createClient(target: string, apiKey: string, options: GrpcClientOptions = {}): PaymentsGrpcClient {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const channelOptions: grpc.ChannelOptions = {
    "grpc.service_config": serviceConfig(timeoutMs, options.maxAttempts ?? 4),
    "grpc.enable_retries": 1,
    ...options.channelOptions,
  };
  const credentials = options.credentials ?? grpc.credentials.createInsecure();
  const clients: grpc.Client[] = [];
  const out: Record<string, unknown> = {};

  for (const [resource, { module, def, noun }] of Object.entries(RESOURCES)) {
    const Ctor = grpc.makeGenericClientConstructor(def as unknown as grpc.ServiceDefinition, resource);
    const client = new Ctor(target, credentials, channelOptions) as unknown as grpc.Client & Record<string, Function>;
    clients.push(client);
    const service: Record<string, unknown> = { raw: client };
    for (const [method, spec] of Object.entries(def as Record<string, AnyDef>)) {
      const rpc = spec.path.slice(spec.path.lastIndexOf("/") + 1);
      // buf's STANDARD lint names every request `<Rpc>Request`: its codec fills the defaults.
      const codec = (module as unknown as Record<string, { fromPartial(v: unknown): unknown }>)[`${rpc}Request`];
      const mutating = !/^(Get|List|Stream)/.test(rpc);
      service[shortName(method, noun)] = (request: unknown = {}, call: GrpcCallOptions = {}) => {
        const md = new grpc.Metadata();
        md.set("authorization", `Bearer ${apiKey}`);
        if (mutating) md.set("idempotency-key", call.idempotencyKey ?? randomUUID());
        for (const [k, v] of Object.entries(call.metadata ?? {})) md.set(k, v);
        const message = codec.fromPartial(request);
        const deadline = spec.responseStream ? undefined : Date.now() + (call.timeoutMs ?? timeoutMs);
        if (spec.responseStream) return client[method](message, md, {});
        return new Promise((resolve, reject) => {
          client[method](message, md, { deadline }, (err: grpc.ServiceError | null, res: unknown) => (err ? reject(toPaymentsError(err)) : resolve(res)));
        });
      };
    }
    out[resource] = service;
  }
  out.close = () => clients.forEach((c) => c.close());
  return out as PaymentsGrpcClient;
}
