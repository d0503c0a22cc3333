// The built-in test-card processor. It decides from the test behaviour stored
// with the payment method (derived from the number at creation, in test mode),
// so it never needs the card number.
import type { TestBehavior } from "../domain/cards";
import type { AuthorizeRequest, AuthorizeResult, Decline, Processor } from "./processor";

const DECLINED = "Your card was declined.";

/** Declines of the test cards, by behaviour. */
const DECLINES: Partial<Record<TestBehavior, Decline>> = {
  generic_decline: { code: "card_declined", declineCode: "generic_decline", message: DECLINED },
  insufficient_funds: { code: "card_declined", declineCode: "insufficient_funds", message: "Your card has insufficient funds." },
  lost_card: { code: "card_declined", declineCode: "lost_card", message: DECLINED },
  stolen_card: { code: "card_declined", declineCode: "stolen_card", message: DECLINED },
  expired_card: { code: "expired_card", declineCode: "expired_card", message: "Your card has expired." },
  incorrect_cvc: { code: "incorrect_cvc", declineCode: "incorrect_cvc", message: "Your card's security code is incorrect." },
  processing_error: {
    code: "processing_error",
    declineCode: "processing_error",
    message: "An error occurred while processing your card. Try again in a little bit.",
  },
  attach_then_decline: { code: "card_declined", declineCode: "generic_decline", message: DECLINED },
};

/** The simulator of the well-known test cards. */
export class TestCardSimulator implements Processor {
  async authorize(req: AuthorizeRequest): Promise<AuthorizeResult> {
    const behavior = req.card.testBehavior ?? "succeed";
    const decline = DECLINES[behavior];
    if (decline) return { outcome: "declined", decline };
    if (behavior === "requires_3ds" && !req.authenticated) return { outcome: "requires_action" };
    return { outcome: "authorized", disputed: behavior === "dispute" };
  }

  async capture(): Promise<{ ok: true }> {
    return { ok: true };
  }

  async cancel(): Promise<{ ok: true }> {
    return { ok: true };
  }

  async refund(): Promise<{ ok: true }> {
    return { ok: true };
  }
}
