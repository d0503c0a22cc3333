"""Webhook signature verification, exactly the API design's algorithm.

The header is ``Payments-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>">`` (one ``v1=`` per active secret during a secret roll). Verify the
raw body as received: re-serialized JSON has other bytes.
"""

import hashlib
import hmac
import json
import time

from payments.error import SignatureVerificationError
from payments.objects import convert

SIGNATURE_HEADER = "Payments-Signature"
DEFAULT_TOLERANCE = 300


def verify_webhook_signature(payload: str, signature: str, secret: str, tolerance: int = DEFAULT_TOLERANCE) -> bool:
    """Verify webhook signature for security (the API design's function, with the tolerance as a parameter)."""
    # Parse signature header
    elements = signature.split(',')
    timestamp = None
    signatures = []

    for element in elements:
        key, value = element.split('=', 1)
        if key == 't':
            timestamp = int(value)
        elif key.startswith('v'):
            signatures.append(value)

    if not timestamp or not signatures:
        return False

    # Check timestamp (prevent replay attacks)
    current_time = int(time.time())
    if abs(current_time - timestamp) > tolerance:  # 5 minutes tolerance by default
        return False

    # Verify signature
    signed_payload = f"{timestamp}.{payload}"
    expected_signature = hmac.new(
        secret.encode(),
        signed_payload.encode(),
        hashlib.sha256
    ).hexdigest()

    return any(
        hmac.compare_digest(expected_signature, signature)
        for signature in signatures
    )


def compute_signature(payload: str, timestamp: int, secret: str) -> str:
    """Hex HMAC-SHA256 of ``<timestamp>.<payload>`` keyed by ``secret``."""
    return hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()


class Webhook:
    """``payments.Webhook.construct_event(payload, sig_header, secret)``."""

    @staticmethod
    def construct_event(payload, sig_header, secret, tolerance=DEFAULT_TOLERANCE):
        """Verifies the signature and returns the event (attribute access); raises SignatureVerificationError otherwise.

        ``tolerance`` must be a positive number of seconds: there is no way to turn the replay check off.
        """
        # 0 or less is a programming error (some SDKs read it as "skip the timestamp check"), not a bad signature.
        if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not tolerance > 0:
            raise ValueError(f"tolerance must be a positive number of seconds (default {DEFAULT_TOLERANCE}), got {tolerance!r}.")
        if isinstance(payload, (bytes, bytearray)):
            payload = payload.decode("utf-8")
        if not sig_header:
            raise SignatureVerificationError(f"No {SIGNATURE_HEADER} header.", sig_header)
        try:
            ok = verify_webhook_signature(payload, sig_header, secret, tolerance)
        except ValueError:
            # A malformed header: an element without "=", or a timestamp that is not a number.
            raise SignatureVerificationError(f"Malformed {SIGNATURE_HEADER} header.", sig_header) from None
        if not ok:
            raise SignatureVerificationError(
                "The signature does not match the payload, or its timestamp is outside the tolerance.", sig_header
            )
        return convert(json.loads(payload))

    @staticmethod
    def generate_test_header(payload, secret, timestamp=None):
        """A ``Payments-Signature`` value for ``payload``, for testing your own endpoint."""
        if isinstance(payload, (bytes, bytearray)):
            payload = payload.decode("utf-8")
        t = int(time.time()) if timestamp is None else timestamp
        return f"t={t},v1={compute_signature(payload, t, secret)}"
