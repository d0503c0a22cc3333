"""Runs the Python SDK's scenarios against the live service and prints one JSON
object of what it observed; test/sdk/python.test.ts asserts on it.

stdin: {"api_base", "proxy_base", "secret_key", "publishable_key", "webhook": {"body", "header", "secret"}}
"""
import json
import sys
import time

import payments

cfg = json.load(sys.stdin)
payments.api_base = cfg["api_base"]
payments.api_key = cfg["secret_key"]
payments.initial_retry_delay = 0.01
out = {}


def caught(fn):
    try:
        fn()
    except payments.PaymentsError as e:
        return {
            "class": type(e).__name__,
            "type": e.type,
            "code": e.code,
            "decline_code": e.decline_code,
            "param": e.param,
            "request_id": e.request_id,
            "http_status": e.http_status,
            "is_payments_error": isinstance(e, payments.PaymentsError),
        }
    return None


CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}

# Resources, attribute access, manual capture and refund.
customer = payments.Customer.create(email="py@example.com", name="Py")
pm = payments.PaymentMethod.create(type="card", card=CARD)
payments.PaymentMethod.attach(pm.id, customer=customer.id)
pi = payments.PaymentIntent.create(amount=3000, currency="usd", capture_method="manual", customer_id=customer.id)
pi = payments.PaymentIntent.modify(pi.id, metadata={"order_id": "py-1"})
pi = payments.PaymentIntent.confirm(pi.id, payment_method=pm.id)
out["manual_status"] = pi.status
pi = payments.PaymentIntent.capture(pi.id, amount_to_capture=2500)
out["captured"] = {"status": pi.status, "amount_received": pi.amount_received, "metadata": pi.metadata.order_id}
charge = payments.Charge.retrieve(pi.latest_charge)
refund = payments.Refund.create(charge=charge.id, amount=500)
out["refund"] = {"object": refund.object, "amount": refund.amount, "status": refund.status, "charge": refund.charge == charge.id}
out["retrieved_refund"] = payments.Refund.retrieve(refund.id).id == refund.id
out["charge_card_last4"] = charge.payment_method.card.last4
canceled = payments.PaymentIntent.cancel(payments.PaymentIntent.create(amount=100, currency="usd").id)
out["canceled"] = canceled.status
out["deleted"] = dict(payments.Customer.delete(customer.id))
events = payments.Event.list(limit=5)
out["events"] = {"object": events.object, "count": len(events), "first_is_event": payments.Event.retrieve(events.data[0].id).object}
endpoint = payments.WebhookEndpoint.create(url="http://127.0.0.1:9/py", enabled_events=["*"])
out["endpoint_secret_prefix"] = endpoint.secret[:6]
out["endpoint_rolled"] = payments.WebhookEndpoint.roll_secret(endpoint.id).secret != endpoint.secret
out["endpoint_deleted"] = payments.WebhookEndpoint.delete(endpoint.id).deleted

# 3-D Secure in test mode.
pm3ds = payments.PaymentMethod.create(type="card", card=dict(CARD, number="4000002500003155"))
pi3ds = payments.PaymentIntent.create(amount=2000, currency="usd", payment_method=pm3ds.id, confirm=True)
out["three_ds"] = [pi3ds.status, payments.PaymentIntent.authenticate(pi3ds.id).status]

# Typed errors, one per class.
declined_pm = payments.PaymentMethod.create(type="card", card=dict(CARD, number="4000000000000002"))
out["card_error"] = caught(lambda: payments.PaymentIntent.create(amount=2000, currency="usd", payment_method=declined_pm.id, confirm=True))
out["invalid_request_error"] = caught(lambda: payments.PaymentIntent.create(currency="usd"))
out["not_found"] = caught(lambda: payments.PaymentIntent.retrieve("pi_missing"))
out["authentication_error"] = caught(lambda: payments.Customer.list(api_key="sk_test_wrong"))
out["permission"] = caught(lambda: payments.PaymentIntent.create(amount=100, currency="usd", api_key=cfg["publishable_key"]))
key = "py-idem-%d" % time.time_ns()
payments.Customer.create(email="a@example.com", idempotency_key=key)
out["idempotency_error"] = caught(lambda: payments.Customer.create(email="b@example.com", idempotency_key=key))
replayed = [payments.Customer.create(email="same@example.com", idempotency_key=key + "-same").id for _ in range(2)]
out["idempotent_replay_same_id"] = replayed[0] == replayed[1]
saved_base = payments.api_base
# Rate limits: a service with a budget of 2 payment-intent requests per minute.
payments.api_base = cfg["limited_base"]
for _ in range(2):
    payments.PaymentIntent.list(api_key=cfg["limited_key"])
out["rate_limit_error"] = caught(lambda: payments.PaymentIntent.list(api_key=cfg["limited_key"]))
# A 503 on every attempt (the proxy injects three): APIError once the retries are spent.
payments.api_base = cfg["proxy_base"]
out["api_error"] = caught(lambda: payments.Charge.list(max_retries=2))
payments.api_base = "http://127.0.0.1:1"
out["connection_error"] = caught(lambda: payments.Customer.list(max_retries=1))
payments.api_base = saved_base

# Retries through the fault proxy (the test injected one 503 on POST /v1/payment_intents).
payments.api_base = cfg["proxy_base"]
retried = payments.PaymentIntent.create(amount=4321, currency="usd", description="py-retry")
payments.api_base = saved_base
out["retried_id"] = retried.id
out["retried_count"] = sum(1 for p in payments.PaymentIntent.list(limit=100).auto_paging_iter() if p.get("description") == "py-retry")

# Pagination.
email = "py-page-%d@example.com" % time.time_ns()
created = [payments.Customer.create(email=email).id for _ in range(5)]
first = payments.Customer.list(email=email, limit=2)
out["first_page"] = {"len": len(first.data), "has_more": first.has_more}
out["all_pages"] = [c.id for c in payments.Customer.list(email=email, limit=2).auto_paging_iter()]
out["created_newest_first"] = list(reversed(created))

# Webhook verification: good, tampered, wrong secret, stale, malformed.
wh = cfg["webhook"]
event = payments.Webhook.construct_event(wh["body"], wh["header"], wh["secret"])
out["webhook_good"] = {"object": event.object, "type": event.type, "data_object": event.data.object.object}
out["webhook_bytes"] = payments.Webhook.construct_event(wh["body"].encode(), wh["header"], wh["secret"]).id == event.id


def sig_error(payload, header, secret, tolerance=300):
    try:
        payments.Webhook.construct_event(payload, header, secret, tolerance)
    except payments.SignatureVerificationError as e:
        return str(e)
    return None


out["webhook_tampered"] = sig_error(wh["body"].replace("customer", "kustomer", 1), wh["header"], wh["secret"])
out["webhook_wrong_secret"] = sig_error(wh["body"], wh["header"], "whsec_wrong")
out["webhook_malformed"] = sig_error(wh["body"], "garbage", wh["secret"])
out["webhook_missing"] = sig_error(wh["body"], "", wh["secret"])
stale = payments.Webhook.generate_test_header(wh["body"], wh["secret"], timestamp=int(time.time()) - 301)
out["webhook_stale"] = sig_error(wh["body"], stale, wh["secret"])
out["webhook_stale_wide_tolerance"] = sig_error(wh["body"], stale, wh["secret"], tolerance=600)


def tolerance_error(tolerance):
    try:
        payments.Webhook.construct_event(wh["body"], wh["header"], wh["secret"], tolerance)
    except ValueError as e:
        return str(e)
    return None


out["webhook_tolerance_zero"] = tolerance_error(0)
out["webhook_tolerance_negative"] = tolerance_error(-1)

print(json.dumps(out))
