"""Typed exceptions: one class per error ``type`` of the API's ``{"error": {...}}`` body."""


class PaymentsError(Exception):
    """Every error the SDK raises, with the API's error object and the HTTP status."""

    def __init__(self, message=None, http_status=None, error=None, headers=None):
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.error = error or {}
        self.headers = headers or {}
        self.type = self.error.get("type")
        self.code = self.error.get("code")
        self.decline_code = self.error.get("decline_code")
        self.param = self.error.get("param")
        self.request_id = self.error.get("request_id") or self.headers.get("request-id")

    def __str__(self):
        rid = f" (request {self.request_id})" if self.request_id else ""
        return f"{self.message}{rid}"


class CardError(PaymentsError):
    """``card_error`` (HTTP 402): the card was declined or cannot be used."""


class InvalidRequestError(PaymentsError):
    """``invalid_request_error`` (HTTP 400/404/409): a bad parameter, an unknown id, a wrong state."""


class AuthenticationError(PaymentsError):
    """``authentication_error`` (HTTP 401/403): no key, a bad key, or a key that may not do this."""


class RateLimitError(PaymentsError):
    """``rate_limit_error`` (HTTP 429): too many requests."""


class IdempotencyError(PaymentsError):
    """``idempotency_error``: an Idempotency-Key reused with other parameters, or still in flight."""


class APIError(PaymentsError):
    """``api_error`` (HTTP 5xx): a failure on the service's side."""


class APIConnectionError(PaymentsError):
    """No response: the connection failed or timed out (after the configured retries)."""


class SignatureVerificationError(PaymentsError):
    """A webhook whose ``Payments-Signature`` header does not verify."""

    def __init__(self, message, sig_header=None):
        super().__init__(message)
        self.sig_header = sig_header


_BY_TYPE = {
    "card_error": CardError,
    "invalid_request_error": InvalidRequestError,
    "authentication_error": AuthenticationError,
    "rate_limit_error": RateLimitError,
    "idempotency_error": IdempotencyError,
    "api_error": APIError,
}


def from_response(http_status, error, headers):
    """The typed exception for an error response (unknown types become APIError)."""
    error = error or {}
    cls = _BY_TYPE.get(error.get("type"), APIError if http_status >= 500 else InvalidRequestError)
    return cls(error.get("message") or f"HTTP {http_status}", http_status, error, headers)
