// Transport-neutral types of the request pipeline. The grpc-js server and the
// gateway's in-process dispatch both speak these, so both run the same
// pipeline on the same bytes.
import type { Knex } from "knex";
import type { ErrorDetail } from "../../gen/payments/v1/common";

/** Request metadata: lower-case keys (gRPC metadata / HTTP headers), text values. */
export type Metadata = Record<string, string>;

/** Headers the core sends back as gRPC initial metadata (HTTP response headers over REST). */
export type ResponseHeaders = Record<string, string>;

/** The outcome of one call, as it would travel on the wire. */
export interface CallResult {
  /** gRPC status code; 0 is OK. */
  code: number;
  /** gRPC status message ("" when OK). */
  message: string;
  /** The serialized response message, when OK (unary calls). */
  response?: Uint8Array;
  /** google.rpc.Status bytes with an ErrorDetail, when not OK (`grpc-status-details-bin`). */
  statusDetails?: Uint8Array;
  /** The error as decoded, when not OK (saves the gateway a decode). */
  error?: ErrorDetail;
  /** Initial metadata: `request-id`, rate-limit headers, `idempotent-replayed`, ... */
  headers: ResponseHeaders;
}

/** Where a server-streaming call writes its messages. */
export interface StreamSink {
  /** Sends one serialized response message. Resolves when it may send more. */
  write(message: Uint8Array): Promise<void> | void;
  /** Sends the initial metadata before the first message. */
  sendHeaders(headers: ResponseHeaders): void;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/** Calls into the core, by full method path (`/payments.v1.RefundService/CreateRefund`). */
export interface Dispatcher {
  unary(path: string, request: Uint8Array, metadata: Metadata): Promise<CallResult>;
  /** Runs a server-streaming call; resolves with its final status. */
  serverStream(path: string, request: Uint8Array, metadata: Metadata, sink: StreamSink): Promise<CallResult>;
}

/** Which keys may call a method. */
export type Access =
  /** No API key (receipts: the unguessable charge id is the capability). */
  | "public"
  /** Secret or publishable key; the handler checks the client secret where needed. */
  | "publishable"
  /** Secret key only. */
  | "secret";

/** Rate-limit classes of the API design. */
export type RateClass = "default" | "payment_creation";

/** Who is calling, once authenticated. */
export interface Caller {
  merchantId: string;
  livemode: boolean;
  keyType: "secret" | "publishable";
  /** The id of the API key record (never the key). */
  keyId: string;
  /** Per-merchant overrides of rate limits (requests per minute by class), if any. */
  rateLimits?: Partial<Record<RateClass, number>>;
}

/** What a handler knows about its call. */
export interface CallContext {
  requestId: string;
  /** Full method path. */
  method: string;
  metadata: Metadata;
  /** Absent only for public methods. */
  caller?: Caller;
  idempotencyKey?: string;
  /**
   * Calls with an Idempotency-Key: marks the key's record `applied` inside the
   * handler's own transaction (PendingEvents.flush calls it), so a crash
   * after the commit cannot let a retry run the handler again. Throws (and
   * so rolls the transaction back) if another request has taken the key over.
   */
  idempotencyApplied?: (trx: Knex.Transaction) => Promise<void>;
  /** Adds a response header (initial metadata). */
  setHeader(name: string, value: string): void;
  /**
   * Server streams: sends the response headers now, before the first message,
   * so a client sees the stream open while it waits for events. Errors after
   * this travel as the stream's final status. No-op for unary calls.
   */
  flushHeaders(): void;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/** A caller known to be authenticated (what non-public handlers receive). */
export type AuthedContext = CallContext & { caller: Caller };
