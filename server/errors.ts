// The one closed set of API errors, and the one place that maps them to gRPC
// statuses. Every failure a client can see is an ApiError; anything else that
// escapes a handler becomes `api_error` with the request id (and is logged).
import { status as GrpcStatus } from "@grpc/grpc-js";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { ErrorDetail } from "../gen/payments/v1/common";

/** The error types of the API design, plus `idempotency_error`. */
export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "card_error"
  | "rate_limit_error"
  | "idempotency_error"
  | "api_error";

/** What an ApiError says to the client, beside its type. */
export interface ErrorFields {
  code: string;
  message: string;
  param?: string;
  decline_code?: string;
  payment_intent?: string;
  charge?: string;
  payment_method?: string;
}

/** An error the API reports to its caller, with the gRPC code it travels as. */
export class ApiError extends Error {
  constructor(
    readonly type: ErrorType,
    readonly grpcCode: GrpcStatus,
    readonly fields: ErrorFields,
  ) {
    super(fields.message);
    this.name = "ApiError";
  }

  /** The spec's error object, with the request id filled in. */
  detail(requestId?: string): ErrorDetail {
    return { type: this.type, ...this.fields, request_id: requestId };
  }
}

// Constructors, one per kind of failure: handlers never pick gRPC codes.

export const missingParam = (param: string, message = `Missing required param: ${param}.`) =>
  new ApiError("invalid_request_error", GrpcStatus.INVALID_ARGUMENT, { code: "parameter_missing", message, param });

export const invalidParam = (param: string, message: string) =>
  new ApiError("invalid_request_error", GrpcStatus.INVALID_ARGUMENT, { code: "parameter_invalid", message, param });

/** An id that does not exist for this merchant and mode (never 403: ids cannot be probed). */
export const resourceMissing = (what: string, id: string, param = "id") =>
  new ApiError("invalid_request_error", GrpcStatus.NOT_FOUND, {
    code: "resource_missing",
    message: `No such ${what}: '${id}'`,
    param,
  });

/** A request that is well-formed but not allowed in the object's current state. */
export const invalidState = (code: string, message: string, extra: Partial<ErrorFields> = {}) =>
  new ApiError("invalid_request_error", GrpcStatus.FAILED_PRECONDITION, { code, message, ...extra });

export const paymentIntentUnexpectedState = (id: string, status: string, action: string) =>
  invalidState(
    "payment_intent_unexpected_state",
    `You cannot ${action} this PaymentIntent because it has a status of ${status}.`,
    { payment_intent: id },
  );

export const cardError = (fields: ErrorFields) =>
  new ApiError("card_error", GrpcStatus.FAILED_PRECONDITION, fields);

/**
 * Live mode without a configured card processor: payments fail loudly, never
 * silently succeed. UNIMPLEMENTED (HTTP 501): a server-side capability is
 * missing, and retrying will not help.
 */
export const processorNotConfigured = () =>
  new ApiError("api_error", GrpcStatus.UNIMPLEMENTED, {
    code: "processor_not_configured",
    message: "No payment processor is configured for live mode, so live payments cannot be confirmed. Use a test key, or configure a processor.",
  });

/** A refund larger than what remains of the charge. */
export const refundAmountTooLarge = (amount: number, remaining: number, charge: string) =>
  invalidState("amount_too_large", `Refund amount (${amount}) is greater than unrefunded amount on charge (${remaining}).`, {
    param: "amount",
    charge,
  });

/** A charge that was already refunded in full. */
export const chargeAlreadyRefunded = (charge: string) =>
  invalidState("charge_already_refunded", `Charge ${charge} has already been refunded.`, { charge });

/** A charge with nothing captured to refund (failed, or not captured yet). */
export const chargeNotRefundable = (charge: string, why: string) =>
  invalidState("charge_not_refundable", `Charge ${charge} cannot be refunded: ${why}.`, { charge });

/** A test-mode-only endpoint called with a live key. */
export const testModeOnly = (message: string) => invalidState("test_mode_only", message);

/** An intent in `requires_capture` whose authorized charge cannot be found (should not happen: data out of step). */
export const chargeMissing = (intent: string) =>
  invalidState("charge_missing", `PaymentIntent ${intent} has no authorized charge to capture.`, { payment_intent: intent });

/**
 * The processor refused to refund. Its own message is kept as the error's
 * `cause` for the server side only: processor wording is not an API contract
 * and may say more than a client should see.
 */
export const refundFailed = (charge: string, processorMessage?: string) =>
  Object.assign(
    invalidState("refund_failed", `The refund of charge ${charge} could not be processed. Nothing was refunded; retry later.`, { charge }),
    { cause: processorMessage },
  );

/** The processor refused to release (void) an authorization; the intent is unchanged. Processor wording stays server-side (`cause`). */
export const authorizationReleaseFailed = (intent: string, charge: string, processorMessage?: string) =>
  Object.assign(
    invalidState("authorization_release_failed", `The authorization of charge ${charge} could not be released, so PaymentIntent ${intent} was not canceled; retry later.`, {
      payment_intent: intent,
      charge,
    }),
    { cause: processorMessage },
  );

/** A resend of a webhook delivery that is being sent right now (by the worker or another resend). */
export const webhookDeliveryInProgress = (delivery: string) =>
  invalidState("webhook_delivery_in_progress", `Webhook delivery ${delivery} is being sent right now. Try again in a moment.`);

/** A payment method in a state that forbids the request (attached elsewhere, not attached). */
export const paymentMethodUnexpectedState = (pm: string, message: string) =>
  invalidState("payment_method_unexpected_state", message, { payment_method: pm });

/** A state-changing request that lost a race with another one on the same object; safe to retry. */
export const concurrentUpdate = (what: string, id: string) =>
  new ApiError("api_error", GrpcStatus.ABORTED, {
    code: "lock_timeout",
    message: `This ${what} (${id}) was being changed by another request at the same time. Retry the request.`,
  });

export const invalidApiKey = (message = "Invalid API key provided.") =>
  new ApiError("authentication_error", GrpcStatus.UNAUTHENTICATED, { code: "invalid_api_key", message });

export const accountSuspended = () =>
  new ApiError("authentication_error", GrpcStatus.PERMISSION_DENIED, {
    code: "account_suspended",
    message: "Account suspended",
  });

export const unauthorized = (message: string) =>
  new ApiError("authentication_error", GrpcStatus.PERMISSION_DENIED, { code: "unauthorized", message });

export const rateLimited = (message = "Too many requests hit the API too quickly.") =>
  new ApiError("rate_limit_error", GrpcStatus.RESOURCE_EXHAUSTED, { code: "rate_limit", message });

export const idempotencyMismatch = (key: string) =>
  new ApiError("idempotency_error", GrpcStatus.INVALID_ARGUMENT, {
    code: "idempotency_key_reused",
    message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
  });

export const idempotencyInFlight = (key: string) =>
  new ApiError("idempotency_error", GrpcStatus.ABORTED, {
    code: "idempotency_key_in_use",
    message: `There is currently another in-progress request using the idempotency key '${key}'. Retry this request later.`,
  });

/** The first request with the key committed its changes, then its process died before storing its answer. */
export const idempotencyApplied = (key: string) =>
  new ApiError("idempotency_error", GrpcStatus.ABORTED, {
    code: "idempotency_key_in_use",
    message: `The request first made with the idempotency key '${key}' was applied, but its response was lost. Retrieve the object it created or changed instead of retrying.`,
  });

export const unimplemented = (method: string) =>
  new ApiError("api_error", GrpcStatus.UNIMPLEMENTED, { code: "not_implemented", message: `${method} is not implemented yet.` });

export const internalError = () =>
  new ApiError("api_error", GrpcStatus.INTERNAL, {
    code: "internal_error",
    message: "An unexpected error occurred. It has been logged; retry later or contact support with the request id.",
  });

export const unavailable = (message = "The service is temporarily unavailable. Retry later.") =>
  new ApiError("api_error", GrpcStatus.UNAVAILABLE, { code: "service_unavailable", message });

/** Anything thrown → an ApiError (unknown failures become a generic api_error). */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return isInfrastructureOutage(err) ? unavailable() : internalError();
}

/**
 * Error codes of a database or network that is down or overloaded for now:
 * refused or dropped connections, PostgreSQL's connection-class (08xxx) and
 * shutdown (57P0x) states, a busy SQLite file. A retry later can succeed, so
 * the client gets UNAVAILABLE (503) instead of an internal error.
 */
const OUTAGE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "08000",
  "08001",
  "08003",
  "08004",
  "08006",
  "57P01",
  "57P02",
  "57P03",
  "SQLITE_BUSY",
  "SQLITE_LOCKED",
]);

function isInfrastructureOutage(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && OUTAGE_CODES.has(code)) return true;
  // knex: no pooled connection could be had in time; pg: the socket closed under a query.
  return err.name === "KnexTimeoutError" || /Connection terminated|connection timeout|Client has encountered a connection error/i.test(err.message);
}

/** The type URL under which ErrorDetail travels in google.rpc.Status.details. */
export const ERROR_DETAIL_TYPE_URL = "type.googleapis.com/payments.v1.ErrorDetail";

/**
 * Encodes google.rpc.Status{code, message, details: [Any(ErrorDetail)]}, the
 * value of the `grpc-status-details-bin` trailer that Envoy's
 * convert_grpc_status and our gateway read.
 */
export function encodeStatusDetails(code: number, message: string, detail: ErrorDetail): Uint8Array {
  const any = new BinaryWriter().uint32(10).string(ERROR_DETAIL_TYPE_URL).uint32(18).bytes(ErrorDetail.encode(detail).finish()).finish();
  const w = new BinaryWriter();
  if (code !== 0) w.uint32(8).int32(code);
  if (message !== "") w.uint32(18).string(message);
  w.uint32(26).bytes(any);
  return w.finish();
}
