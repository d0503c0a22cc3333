import payments

# Configure API key
payments.api_key = "sk_test_1234567890abcdef"

# Create payment intent
payment_intent = payments.PaymentIntent.create(
    amount=2000,
    currency='usd',
    payment_method_types=['card'],
    metadata={'order_id': '12345'}
)

# Confirm payment
confirmed_payment = payments.PaymentIntent.confirm(
    payment_intent.id,
    payment_method='pm_1234567890abcdef'
)

print(f"Payment status: {confirmed_payment.status}")
