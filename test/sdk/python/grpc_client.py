"""A Python service calling the core over gRPC with code generated from proto/
(docs/clients.md): the API key travels as `authorization` metadata. Creates a
payment method, creates a payment intent and confirms it; prints the statuses.

argv: <target host:port> <secret key>
"""
import sys

import grpc

from payments.v1 import payment_intents_pb2, payment_intents_pb2_grpc
from payments.v1 import payment_methods_pb2, payment_methods_pb2_grpc
from payments.v1 import common_pb2

target, api_key = sys.argv[1], sys.argv[2]
metadata = [("authorization", f"Bearer {api_key}")]

# The core is reached directly, never through an HTTP proxy from the environment.
with grpc.insecure_channel(target, options=[("grpc.enable_http_proxy", 0)]) as channel:
    methods = payment_methods_pb2_grpc.PaymentMethodServiceStub(channel)
    intents = payment_intents_pb2_grpc.PaymentIntentServiceStub(channel)

    pm = methods.CreatePaymentMethod(
        payment_methods_pb2.CreatePaymentMethodRequest(
            type="card",
            card=payment_methods_pb2.CardInput(number="4242424242424242", exp_month=12, exp_year=2034, cvc="123"),
        ),
        metadata=metadata + [("idempotency-key", "py-grpc-pm-" + api_key[-8:])],
        timeout=10,
    ).payment_method

    created = intents.CreatePaymentIntent(
        payment_intents_pb2.CreatePaymentIntentRequest(amount=2000, currency="usd", payment_method_types=["card"], metadata={"order_id": "12345"}),
        metadata=metadata,
        timeout=10,
    ).payment_intent
    print(f"created {created.id} {created.status}")

    confirmed = intents.ConfirmPaymentIntent(
        payment_intents_pb2.ConfirmPaymentIntentRequest(id=created.id, payment_method=pm.id),
        metadata=metadata,
        timeout=10,
    ).payment_intent
    print(f"Payment status: {confirmed.status} amount_received={confirmed.amount_received}")

    # A failure carries the API's error object in the status details.
    try:
        intents.GetPaymentIntent(payment_intents_pb2.GetPaymentIntentRequest(id="pi_missing"), metadata=metadata, timeout=10)
    except grpc.RpcError as e:
        detail = None
        for key, value in e.trailing_metadata() or ():
            if key == "grpc-status-details-bin":
                from google.rpc import status_pb2  # generated from proto_deps/google/rpc/status.proto

                status = status_pb2.Status.FromString(value)
                detail = common_pb2.ErrorDetail()
                status.details[0].Unpack(detail)
        print(f"error {e.code().name} {detail.type if detail else '-'} {detail.code if detail else '-'}")
