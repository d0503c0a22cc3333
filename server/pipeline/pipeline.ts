// The one request pipeline around every handler: request id, auth, access
// check, rate limit, decode, idempotency, handler, encode, error mapping and
// the log line. It knows nothing of grpc-js or HTTP: the grpc-js server
// (server/grpc/binding.ts) and the gateway's in-process dispatch both call it
// with the wire bytes and metadata, and get back what goes on the wire.
import { randomBytes } from "node:crypto";
import { ApiError, encodeStatusDetails, invalidParam, rateLimited, toApiError, unauthorized, unimplemented } from "../errors";
import { METHODS, type AnyHandler, type MethodInfo, type ServiceHandlers } from "../methods";
import type { CallContext, CallResult, Caller, Dispatcher, Metadata, ResponseHeaders, StreamSink } from "./types";

/** Turns the `authorization` metadata into a caller, or throws an ApiError. */
export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Caller>;
}

/** Spends one request of the caller's budget. */
export interface RateLimiter {
  consume(caller: Caller, method: MethodInfo, metadata: Metadata): Promise<{ allowed: boolean; headers: ResponseHeaders }>;
}

/** Stores the first result of a mutating call per idempotency key and replays it. */
export interface IdempotencyStore {
  /** `execute` runs the handler with `hooks` added to its call context. */
  run(
    ctx: CallContext & { caller: Caller; idempotencyKey: string },
    method: MethodInfo,
    request: Uint8Array,
    execute: (hooks: Pick<CallContext, "idempotencyApplied">) => Promise<CallResult>,
  ): Promise<CallResult>;
}

/** What the pipeline reports about each finished call. */
export interface CallRecord {
  method: MethodInfo | undefined;
  path: string;
  metadata: Metadata;
  caller?: Caller;
  result: CallResult;
  processingTimeMs: number;
  /** The unexpected exception behind an `api_error`, for the server log only. */
  cause?: unknown;
}

export interface PipelineOptions {
  handlers: ServiceHandlers;
  auth: Authenticator;
  rateLimiter?: RateLimiter;
  idempotency?: IdempotencyStore;
  /** Called once per call when it ends (logging, metrics). */
  onCall?: (record: CallRecord) => void;
}

const REQUEST_ID = /^[A-Za-z0-9_\-]{8,64}$/;

/** Unary calls run to completion: their handlers get a signal that never fires. */
const NEVER_ABORTED = new AbortController().signal;

/** A new request id: `req_` and 24 random hex digits. */
export function newRequestId(): string {
  return `req_${randomBytes(12).toString("hex")}`;
}

export class Pipeline implements Dispatcher {
  private readonly handlers = new Map<string, AnyHandler>();

  constructor(private readonly options: PipelineOptions) {
    for (const info of METHODS.values()) {
      const service = options.handlers[info.service as keyof ServiceHandlers] as Record<string, AnyHandler> | undefined;
      const handler = service?.[info.name];
      if (handler) this.handlers.set(info.path, handler.bind(service));
    }
  }

  async unary(path: string, request: Uint8Array, metadata: Metadata): Promise<CallResult> {
    return this.call(path, request, metadata, undefined);
  }

  async serverStream(path: string, request: Uint8Array, metadata: Metadata, sink: StreamSink): Promise<CallResult> {
    return this.call(path, request, metadata, sink);
  }

  private async call(path: string, request: Uint8Array, metadata: Metadata, sink: StreamSink | undefined): Promise<CallResult> {
    const started = performance.now();
    const requestId = REQUEST_ID.test(metadata["x-request-id"] ?? "") ? metadata["x-request-id"] : newRequestId();
    const headers: ResponseHeaders = { "request-id": requestId };
    const info = METHODS.get(path);
    let caller: Caller | undefined;
    let result: CallResult;
    let cause: unknown;
    try {
      if (!info || info.serverStreaming !== (sink !== undefined)) throw unimplemented(path);
      if (info.access !== "public") {
        caller = await this.options.auth.authenticate(metadata.authorization);
        if (info.access === "secret" && caller.keyType !== "secret") {
          throw unauthorized("This API call cannot be made with a publishable API key. Please use a secret API key.");
        }
        if (this.options.rateLimiter) {
          const verdict = await this.options.rateLimiter.consume(caller, info, metadata);
          Object.assign(headers, verdict.headers);
          if (!verdict.allowed) throw rateLimited();
        }
      }
      const handler = this.handlers.get(path);
      if (!handler) throw unimplemented(path);
      let req: unknown;
      try {
        req = info.decode(request);
      } catch {
        throw invalidParam("body", "The request message could not be decoded.");
      }
      const idempotencyKey = info.mutating ? metadata["idempotency-key"] || undefined : undefined;
      let sentHeaders = false;
      const flushHeaders = () => {
        if (sink && !sentHeaders) {
          sink.sendHeaders(headers);
          sentHeaders = true;
        }
      };
      const ctx: CallContext = {
        requestId,
        method: path,
        metadata,
        caller,
        idempotencyKey,
        setHeader: (name, value) => {
          headers[name.toLowerCase()] = value;
        },
        flushHeaders,
        signal: sink?.signal ?? NEVER_ABORTED,
      };
      if (sink) {
        await handler(ctx, req, async (message) => {
          flushHeaders();
          await sink.write(info.encode(message));
        });
        result = { code: 0, message: "", headers };
      } else {
        const execute = async (hooks: Pick<CallContext, "idempotencyApplied"> = {}): Promise<CallResult> => {
          try {
            return { code: 0, message: "", response: info.encode(await handler({ ...ctx, ...hooks }, req)), headers: {} };
          } catch (err) {
            if (!(err instanceof ApiError)) cause = err;
            return errorResult(toApiError(err), requestId, {});
          }
        };
        const stored =
          idempotencyKey && caller && this.options.idempotency
            ? await this.options.idempotency.run({ ...ctx, caller, idempotencyKey }, info, request, execute)
            : await execute();
        result = { ...stored, headers: { ...headers, ...stored.headers } };
      }
    } catch (err) {
      if (!(err instanceof ApiError)) cause = err;
      result = errorResult(toApiError(err), requestId, headers);
    }
    this.options.onCall?.({ method: info, path, metadata, caller, result, processingTimeMs: performance.now() - started, cause });
    return result;
  }
}

/** An ApiError as it goes on the wire: status code, message and details. */
export function errorResult(err: ApiError, requestId: string, headers: ResponseHeaders): CallResult {
  const detail = err.detail(requestId);
  return {
    code: err.grpcCode,
    message: err.message,
    statusDetails: encodeStatusDetails(err.grpcCode, err.message, detail),
    error: detail,
    headers,
  };
}
