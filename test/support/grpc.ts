// Helpers for calling the core with generated clients: a unary call as a
// promise that keeps the response headers and the decoded error object.
import * as grpc from "@grpc/grpc-js";
import type { ErrorDetail } from "../../gen/payments/v1/common";
import { decodeStatusDetails } from "../../gateway/errors";

/** The outcome of one unary call. */
export interface Outcome<T> {
  /** The response, when the call succeeded. */
  value?: T;
  /** The gRPC error, when it failed. */
  error?: grpc.ServiceError;
  /** The API's error object from the status details, when it failed. */
  detail?: ErrorDetail;
  /** Response headers (initial metadata; trailers too for errors), text values only. */
  headers: Record<string, string>;
}

// The last overload of a generated unary method (the one type inference sees).
type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (err: grpc.ServiceError | null, res: Res) => void,
) => grpc.ClientUnaryCall;

/** Calls `client[method](request, metadata)` and resolves with its outcome (never rejects on a gRPC error). */
export function call<C, K extends keyof C>(
  client: C,
  method: K,
  request: C[K] extends UnaryMethod<infer Req, infer _Res> ? Req : never,
  metadata: grpc.Metadata = new grpc.Metadata(),
): Promise<Outcome<C[K] extends UnaryMethod<infer _Req, infer Res> ? Res : never>> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = {};
    const fn = client[method] as unknown as UnaryMethod<unknown, never>;
    const c = fn.call(client, request, metadata, {}, (err, res) => {
      if (err) {
        Object.assign(headers, textOf(err.metadata));
        resolve({ error: err, detail: errorDetail(err), headers });
      } else resolve({ value: res, headers });
    });
    c.on("metadata", (md: grpc.Metadata) => Object.assign(headers, textOf(md)));
  });
}

function textOf(md: grpc.Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md.getMap())) if (typeof v === "string") out[k] = v;
  return out;
}

/** The ErrorDetail inside a failed call's `grpc-status-details-bin` (google.rpc.Status.details[0]). */
export function errorDetail(err: grpc.ServiceError): ErrorDetail | undefined {
  const raw = err.metadata?.get("grpc-status-details-bin")[0];
  if (!(raw instanceof Buffer)) return undefined;
  return decodeStatusDetails(raw);
}
