// The one place that maps a gRPC status to an HTTP status and writes the
// API's error body `{"error": {...}}`, for the core's errors and for the
// gateway's own (unknown route, bad JSON, body too large, core unreachable).
// gateway/envoy/error-body.lua mirrors this table for Envoy.
import { randomBytes } from "node:crypto";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { ErrorDetail } from "../gen/payments/v1/common";

/** gRPC status code → HTTP status (the standard table, as grpc-gateway and Envoy use it). */
export const HTTP_STATUS_OF_GRPC: Readonly<Record<number, number>> = {
  0: 200, // OK
  1: 499, // CANCELLED
  2: 500, // UNKNOWN
  3: 400, // INVALID_ARGUMENT
  4: 504, // DEADLINE_EXCEEDED
  5: 404, // NOT_FOUND
  6: 409, // ALREADY_EXISTS
  7: 403, // PERMISSION_DENIED
  8: 429, // RESOURCE_EXHAUSTED
  9: 400, // FAILED_PRECONDITION
  10: 409, // ABORTED
  11: 400, // OUT_OF_RANGE
  12: 501, // UNIMPLEMENTED
  13: 500, // INTERNAL
  14: 503, // UNAVAILABLE
  15: 500, // DATA_LOSS
  16: 401, // UNAUTHENTICATED
};

/** The HTTP status of a failed call: the table above, except that card errors are 402 Payment Required. */
export function httpStatusOf(grpcCode: number, errorType?: string): number {
  if (errorType === "card_error") return 402;
  return HTTP_STATUS_OF_GRPC[grpcCode] ?? 500;
}

/** A request id for a response the core did not answer (same shape as the core's). */
export function newGatewayRequestId(): string {
  return `req_${randomBytes(12).toString("hex")}`;
}

// ErrorDetail's fields in proto order, and which have explicit presence
// (`optional`): the JSON is printed as the canonical proto3 JSON of
// ErrorDetail with the gateways' print options, so Envoy and Node agree byte for byte.
const DETAIL_FIELDS: ReadonlyArray<[keyof ErrorDetail, boolean]> = [
  ["type", false],
  ["code", false],
  ["message", false],
  ["decline_code", true],
  ["param", true],
  ["request_id", true],
  ["payment_intent", true],
  ["charge", true],
  ["payment_method", true],
];

/** The `{"error": {...}}` body of an ErrorDetail, with `request_id` filled in if missing. */
export function errorBody(detail: ErrorDetail, requestId: string): string {
  const out: Record<string, string> = {};
  for (const [name, optional] of DETAIL_FIELDS) {
    const value = name === "request_id" ? (detail.request_id ?? requestId) : detail[name];
    if (value === undefined && optional) continue;
    out[name] = value ?? "";
  }
  return JSON.stringify({ error: out });
}

/** Reads the ErrorDetail out of google.rpc.Status bytes (`grpc-status-details-bin`), if there is one. */
export function decodeStatusDetails(bytes: Uint8Array): ErrorDetail | undefined {
  try {
    const status = new BinaryReader(bytes);
    while (status.pos < status.len) {
      const [field, wire] = status.tag();
      if (field !== 3) {
        status.skip(wire);
        continue;
      }
      const any = new BinaryReader(status.bytes());
      let typeUrl = "";
      let value: Uint8Array | undefined;
      while (any.pos < any.len) {
        const [f, w] = any.tag();
        if (f === 1) typeUrl = any.string();
        else if (f === 2) value = any.bytes();
        else any.skip(w);
      }
      if (typeUrl.endsWith("/payments.v1.ErrorDetail") && value) return ErrorDetail.decode(value);
    }
  } catch {
    // Malformed details: the caller falls back to a generic error.
  }
  return undefined;
}

/** The ErrorDetail for a status without one (e.g. a channel failure), by gRPC code. */
export function fallbackDetail(grpcCode: number, message: string): ErrorDetail {
  if (grpcCode === 14) {
    return { type: "api_error", code: "service_unavailable", message: "The service is temporarily unavailable. Retry later." };
  }
  if (grpcCode === 4) return { type: "api_error", code: "timeout", message: "The request timed out. Retry later." };
  return { type: "api_error", code: "internal_error", message: message || "An unexpected error occurred." };
}

/** The gateway's own failures, in the API's error format. */
export const gatewayErrors = {
  routeNotFound: (method: string, path: string): [number, ErrorDetail] => [
    404,
    { type: "invalid_request_error", code: "route_not_found", message: `Unrecognized request URL (${method}: ${path}).` },
  ],
  methodNotAllowed: (method: string, path: string, allow: string[]): [number, ErrorDetail] => [
    405,
    {
      type: "invalid_request_error",
      code: "method_not_allowed",
      message: `${method} is not allowed on ${path}; use ${allow.join(" or ")}.`,
    },
  ],
  invalidJson: (): [number, ErrorDetail] => [
    400,
    { type: "invalid_request_error", code: "parameter_invalid", message: "The request body is not valid JSON.", param: "body" },
  ],
  invalidParam: (param: string, message: string): [number, ErrorDetail] => [
    400,
    { type: "invalid_request_error", code: "parameter_invalid", message, param },
  ],
  unknownParam: (param: string): [number, ErrorDetail] => [
    400,
    { type: "invalid_request_error", code: "parameter_unknown", message: `Received unknown parameter: ${param}.`, param },
  ],
  bodyTooLarge: (limit: number): [number, ErrorDetail] => [
    413,
    { type: "invalid_request_error", code: "request_too_large", message: `The request body is larger than ${limit} bytes.` },
  ],
  metricsUnauthorized: (): [number, ErrorDetail] => [
    401,
    { type: "authentication_error", code: "unauthorized", message: "GET /metrics requires Authorization: Bearer <METRICS_TOKEN>." },
  ],
  unavailable: (): [number, ErrorDetail] => [503, fallbackDetail(14, "")],
  internal: (): [number, ErrorDetail] => [500, fallbackDetail(13, "")],
};
