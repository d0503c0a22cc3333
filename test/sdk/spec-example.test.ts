// The API design's JavaScript SDK example, copied as written; only the key
// and the base URL are filled in. It must print what the spec says it
// prints, on the plain card and on a 3-D Secure card.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { PaymentsSDK } from "../../sdk/typescript/index";
import { startLiveService, type LiveService } from "./support";

// The key filled in is a secret test key: the example creates the payment
// intent from the same client, and creating intents needs a secret key (a
// publishable key may only create payment methods and confirm, retrieve or
// authenticate an intent by its client secret; test/sdk/typescript.test.ts
// runs that browser flow and shows the 403 for a publishable create).
//
// The example's card expires 12/2025: its service runs on a clock pinned to
// mid-2025 (the core's `now` option), so the card is valid as written.
const SPEC_NOW = Date.UTC(2025, 5, 1) / 1000;

/** The spec's example, verbatim between the markers (key, base URL and, for 3-D Secure, the card number filled in). */
async function specExample(key: string, apiBase: string, cardNumber = "4242424242424242") {
  // ---- from the API design, "JavaScript SDK"
  // Initialize Payment SDK
  const payments = new PaymentsSDK(key, { apiBase });

  // Create payment method
  const paymentMethod = await payments.createPaymentMethod({
    type: 'card',
    card: {
      number: cardNumber,
      exp_month: 12,
      exp_year: 2025,
      cvc: '123'
    }
  });

  // Create and confirm payment
  const paymentIntent = await payments.createPaymentIntent({
    amount: 2000,
    currency: 'usd',
    payment_method: paymentMethod.id,
    confirmation_method: 'automatic',
    confirm: true
  });

  if (paymentIntent.status === 'succeeded') {
    console.log('Payment succeeded!');
  } else if (paymentIntent.status === 'requires_action') {
    // Handle 3D Secure authentication
    const result = await payments.handleCardAction(paymentIntent.client_secret);
    if (result.paymentIntent.status === 'succeeded') {
      console.log('Payment succeeded after authentication!');
    }
  }
  // ---- end of the example
  return paymentIntent;
}

describe("the spec's JavaScript example", () => {
  let service: LiveService;
  beforeAll(async () => {
    service = await startLiveService({ now: () => SPEC_NOW });
  });
  afterAll(async () => {
    await service?.close();
  });

  it("prints 'Payment succeeded!' with the spec's card", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      const pi = await specExample(service.core.keys.secret, service.base);
      expect(log.mock.calls).toEqual([["Payment succeeded!"]]);
      // What the example printed is what the service holds.
      const stored = await new PaymentsSDK(service.core.keys.secret, { apiBase: service.base }).paymentIntents.retrieve(pi.id);
      expect(stored).toMatchObject({ status: "succeeded", amount: 2000, amount_received: 2000, currency: "usd" });
    } finally {
      log.mockRestore();
    }
  });

  it("takes the 3-D Secure branch with card 4000002500003155 and succeeds after authentication", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      const pi = await specExample(service.core.keys.secret, service.base, "4000002500003155");
      expect(pi.status).toBe("requires_action");
      expect(pi.next_action?.type).toBe("redirect_to_url");
      expect(log.mock.calls).toEqual([["Payment succeeded after authentication!"]]);
    } finally {
      log.mockRestore();
    }
  });
});
