"""Python SDK of the Payment Service (standard library only).

    import payments
    payments.api_key = "sk_test_..."
    intent = payments.PaymentIntent.create(amount=2000, currency="usd")
    print(intent.status)
"""

# Configuration, read at each request.
api_key = None
"""The API key: ``sk_test_...`` (or ``pk_...`` for the calls a publishable key may make)."""
api_base = "https://api.payments.com"
"""Base URL of the API, without ``/v1``. Overridden by the PAYMENTS_API_BASE environment variable at import."""
timeout = 30.0
"""Seconds one attempt may take."""
max_network_retries = 2
"""Retries after the first attempt, on network errors, 409 and 5xx."""
initial_retry_delay = 0.5
"""Seconds before the first retry; doubles per retry, with jitter."""
max_retry_delay = 8.0
"""Largest backoff (and largest Retry-After honoured), in seconds."""

import os as _os

api_base = _os.environ.get("PAYMENTS_API_BASE", api_base)

from payments.error import (  # noqa: E402
    APIConnectionError,
    APIError,
    AuthenticationError,
    CardError,
    IdempotencyError,
    InvalidRequestError,
    PaymentsError,
    RateLimitError,
    SignatureVerificationError,
)
from payments.objects import ListObject, PaymentsObject  # noqa: E402
from payments.resources import (  # noqa: E402
    Charge,
    Customer,
    Event,
    PaymentIntent,
    PaymentMethod,
    Refund,
    WebhookEndpoint,
)
from payments.webhook import Webhook  # noqa: E402
from payments import error  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "api_key", "api_base", "timeout", "max_network_retries",
    "PaymentIntent", "PaymentMethod", "Customer", "Refund", "Charge", "Event", "WebhookEndpoint",
    "Webhook", "PaymentsObject", "ListObject", "error",
    "PaymentsError", "CardError", "InvalidRequestError", "AuthenticationError", "RateLimitError",
    "IdempotencyError", "APIError", "APIConnectionError", "SignatureVerificationError",
]
