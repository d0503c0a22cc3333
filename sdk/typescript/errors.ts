// Typed errors: one class per error `type` of the API's `{"error": {...}}`
// body, so callers can `catch (e) { if (e instanceof CardError) ... }`.
import type { ErrorDetail } from "../../gen/payments/v1/common";

/** Every error the SDK throws. Carries the API's error object and the HTTP status. */
export class PaymentsError extends Error {
  /** The error type, e.g. `card_error`. */
  readonly type: string;
  /** Machine-readable code, e.g. `card_declined`. */
  readonly code?: string;
  /** For card errors, the issuer's reason, e.g. `insufficient_funds`. */
  readonly decline_code?: string;
  /** The request parameter at fault, e.g. `amount`. */
  readonly param?: string;
  /** The request id (`req_...`) to quote to support. */
  readonly request_id?: string;
  /** The HTTP status (0 when no response came back). */
  readonly statusCode: number;
  /** The error object as the API sent it. */
  readonly raw?: ErrorDetail;
  /** The response headers, when there was a response. */
  readonly headers: Record<string, string>;

  constructor(message: string, init: { type: string; statusCode: number; raw?: ErrorDetail; headers?: Record<string, string>; requestId?: string }) {
    super(message);
    this.name = new.target.name;
    this.type = init.type;
    this.statusCode = init.statusCode;
    this.raw = init.raw;
    this.headers = init.headers ?? {};
    this.code = init.raw?.code;
    this.decline_code = init.raw?.decline_code;
    this.param = init.raw?.param;
    this.request_id = init.raw?.request_id ?? init.requestId;
  }
}

/** `card_error` (HTTP 402): the card was declined or cannot be used. */
export class CardError extends PaymentsError {}
/** `invalid_request_error` (HTTP 400/404/409): a missing or invalid parameter, an unknown id, a wrong state. */
export class InvalidRequestError extends PaymentsError {}
/** `authentication_error` (HTTP 401/403): no key, a bad key, or a key that may not do this. */
export class AuthenticationError extends PaymentsError {}
/** `rate_limit_error` (HTTP 429): too many requests. */
export class RateLimitError extends PaymentsError {}
/** `idempotency_error`: an Idempotency-Key reused with other parameters, or still in flight. */
export class IdempotencyError extends PaymentsError {}
/** `api_error` (HTTP 5xx): a failure on the service's side. */
export class APIError extends PaymentsError {}
/** No response: the connection failed or timed out (after the configured retries). */
export class APIConnectionError extends PaymentsError {}
/** A webhook whose `Payments-Signature` does not verify (bad, tampered or stale). */
export class SignatureVerificationError extends PaymentsError {}

const BY_TYPE: Record<string, typeof PaymentsError> = {
  card_error: CardError,
  invalid_request_error: InvalidRequestError,
  authentication_error: AuthenticationError,
  rate_limit_error: RateLimitError,
  idempotency_error: IdempotencyError,
  api_error: APIError,
};

/** The typed error for an API error body (unknown types become APIError). */
export function errorFromResponse(statusCode: number, raw: ErrorDetail | undefined, headers: Record<string, string>): PaymentsError {
  const type = raw?.type ?? (statusCode >= 500 ? "api_error" : "invalid_request_error");
  const Class = BY_TYPE[type] ?? APIError;
  return new Class(raw?.message ?? `HTTP ${statusCode}`, { type, statusCode, raw, headers, requestId: headers["request-id"] });
}

/** The typed error class for an error type. */
export function errorClassFor(type: string): typeof PaymentsError {
  return BY_TYPE[type] ?? APIError;
}
