"""The HTTP core: API key, an automatic Idempotency-Key on every POST (the same
key on every retry, so a retried POST never does the work twice), retries with
exponential backoff and jitter on network errors, 409 and 5xx (honouring
Retry-After), and a timeout per attempt. Standard library only."""

import http.client
import json
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import payments
from payments import error

VERSION = "0.1.0"


def _retryable(status):
    return status == 409 or (status >= 500 and status != 501)


def _delay(retry, retry_after=None):
    """Seconds before retry number ``retry`` (1-based): Retry-After if given, else exponential with jitter."""
    cap = payments.max_retry_delay
    if retry_after is not None:
        try:
            return min(max(float(retry_after), 0.0), cap)
        except ValueError:
            pass
    exp = min(payments.initial_retry_delay * (2 ** (retry - 1)), cap)
    return exp / 2 + random.random() * exp / 2


def encode_query(params):
    """``{"limit": 3, "types": ["a", "b"]}`` -> ``?limit=3&types=a&types=b`` (None left out, booleans lowercase)."""
    pairs = []
    for key, value in (params or {}).items():
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if v is None:
                continue
            pairs.append((key, "true" if v is True else "false" if v is False else str(v)))
    return "?" + urllib.parse.urlencode(pairs) if pairs else ""


def request(method, path, params=None, api_key=None, idempotency_key=None, timeout=None, max_retries=None):
    """Sends one API request and returns the decoded JSON body (a dict)."""
    key = api_key or payments.api_key
    if not key:
        raise error.AuthenticationError('No API key provided: set payments.api_key = "sk_test_..."', 0, {"type": "authentication_error"})
    base = (payments.api_base or "").rstrip("/")
    url = base + path
    headers = {
        "Authorization": f"Bearer {key}",
        "Accept": "application/json",
        "User-Agent": f"payments-sdk-python/{VERSION}",
    }
    body = None
    if method == "GET" or method == "DELETE":
        url += encode_query(params)
    else:
        headers["Content-Type"] = "application/json"
        headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        body = json.dumps({k: v for k, v in (params or {}).items() if v is not None}).encode("utf-8")
    retries = payments.max_network_retries if max_retries is None else max_retries
    timeout = payments.timeout if timeout is None else timeout

    attempt = 0
    while True:
        req = urllib.request.Request(url, data=body, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as res:
                text = res.read().decode("utf-8")
                return json.loads(text) if text else {}
        except urllib.error.HTTPError as e:
            status = e.code
            res_headers = {k.lower(): v for k, v in e.headers.items()}
            text = e.read().decode("utf-8", "replace")
            if attempt < retries and _retryable(status):
                attempt += 1
                time.sleep(_delay(attempt, res_headers.get("retry-after")))
                continue
            try:
                err = json.loads(text).get("error")
            except ValueError:
                err = None
            raise error.from_response(status, err, res_headers) from None
        except (urllib.error.URLError, http.client.HTTPException, socket.timeout, ConnectionError, TimeoutError) as e:
            if attempt < retries:
                attempt += 1
                time.sleep(_delay(attempt))
                continue
            reason = getattr(e, "reason", e)
            raise error.APIConnectionError(
                f"Could not reach the API at {base}: {reason}", 0, {"type": "api_connection_error"}
            ) from None
