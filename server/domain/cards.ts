// Card rules: number checks (Luhn), brand, expiry, fingerprint, and the test
// cards table. Pure. The card number and CVC go in here and only non-sensitive
// facts come out (brand, last4, fingerprint, funding, country, test behaviour).
import { createHmac } from "node:crypto";
import { cardError, missingParam } from "../errors";

/** Card brands the API reports. */
export type CardBrand = "visa" | "mastercard" | "amex" | "discover" | "diners" | "jcb" | "unionpay" | "unknown";

/** What the test-card simulator does with a card; kept with the payment method instead of the number. */
export type TestBehavior =
  | "succeed"
  | "generic_decline"
  | "insufficient_funds"
  | "lost_card"
  | "stolen_card"
  | "expired_card"
  | "incorrect_cvc"
  | "processing_error"
  | "requires_3ds"
  | "dispute"
  | "attach_then_decline";

interface TestCard {
  behavior: TestBehavior;
  funding?: "credit" | "debit" | "prepaid";
  country?: string;
}

/** The well-known test cards and what each does (test mode only). Other valid numbers succeed. */
export const TEST_CARDS: Readonly<Record<string, TestCard>> = {
  "4242424242424242": { behavior: "succeed" },
  "4000056655665556": { behavior: "succeed", funding: "debit" },
  "5555555555554444": { behavior: "succeed" },
  "2223003122003222": { behavior: "succeed" },
  "5200828282828210": { behavior: "succeed", funding: "debit" },
  "5105105105105100": { behavior: "succeed", funding: "prepaid" },
  "378282246310005": { behavior: "succeed" },
  "6011111111111117": { behavior: "succeed" },
  "3056930009020004": { behavior: "succeed" },
  "3566002020360505": { behavior: "succeed", country: "JP" },
  "6200000000000005": { behavior: "succeed", country: "CN" },
  "4000000760000002": { behavior: "succeed", country: "BR" },
  "4000001240000000": { behavior: "succeed", country: "CA" },
  "4000008260000000": { behavior: "succeed", country: "GB" },
  "4000000000000002": { behavior: "generic_decline" },
  "4000000000009995": { behavior: "insufficient_funds", funding: "debit" },
  "4000000000009987": { behavior: "lost_card" },
  "4000000000009979": { behavior: "stolen_card" },
  "4000000000000069": { behavior: "expired_card" },
  "4000000000000127": { behavior: "incorrect_cvc" },
  "4000000000000119": { behavior: "processing_error" },
  "4000002500003155": { behavior: "requires_3ds" },
  "4000002760003184": { behavior: "requires_3ds" },
  "4000000000000259": { behavior: "dispute" },
  "4000000000000341": { behavior: "attach_then_decline" },
};

/** Luhn checksum of a string of digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** The brand of a card number, from its issuer identification prefix. */
export function brandOf(digits: string): CardBrand {
  const p2 = Number(digits.slice(0, 2));
  const p3 = Number(digits.slice(0, 3));
  const p4 = Number(digits.slice(0, 4));
  if (p2 === 34 || p2 === 37) return "amex";
  if (digits[0] === "4") return "visa";
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return "mastercard";
  if (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649)) return "discover";
  if (p2 === 62 || p2 === 81) return "unionpay";
  if (p4 >= 3528 && p4 <= 3589) return "jcb";
  if ((p3 >= 300 && p3 <= 305) || p4 === 3095 || p2 === 36 || p2 === 38 || p2 === 39) return "diners";
  return "unknown";
}

/** The card as the customer typed it. */
export interface CardInputFields {
  number: string;
  exp_month: number;
  exp_year: number;
  cvc?: string;
}

/** What is kept of a card: never the number, never the CVC. */
export interface CardFacts {
  brand: CardBrand;
  last4: string;
  exp_month: number;
  exp_year: number;
  fingerprint: string;
  funding: string;
  country: string;
  /** Test mode only: what the simulator does with this card. */
  testBehavior?: TestBehavior;
}

/** Keyed hash of the number: equal for one merchant, unrelated across merchants and deployments. */
export function fingerprintOf(digits: string, fingerprintSecret: string, merchantId: string): string {
  return createHmac("sha256", `${fingerprintSecret}:${merchantId}`).update(digits).digest("base64url").slice(0, 16);
}

/**
 * Validates a card and reduces it to the facts we keep. `now` is Unix
 * seconds; a card is valid through the last day of its expiry month.
 */
export function inspectCard(
  card: CardInputFields | undefined,
  opts: { now: number; livemode: boolean; fingerprintSecret: string; merchantId: string },
): CardFacts {
  if (!card) throw missingParam("card");
  const digits = (card.number ?? "").replace(/[\s-]/g, "");
  if (digits === "") throw missingParam("card[number]");
  if (!/^\d{12,19}$/.test(digits)) {
    throw cardError({ code: "invalid_number", message: "The card number is not a valid credit card number.", param: "card[number]" });
  }
  if (!luhnValid(digits)) {
    throw cardError({ code: "incorrect_number", message: "Your card number is incorrect.", param: "card[number]" });
  }
  if (!card.exp_month) throw missingParam("card[exp_month]");
  if (!card.exp_year) throw missingParam("card[exp_year]");
  if (!Number.isInteger(card.exp_month) || card.exp_month < 1 || card.exp_month > 12) {
    throw cardError({ code: "invalid_expiry_month", message: "Your card's expiration month is invalid.", param: "card[exp_month]" });
  }
  const today = new Date(opts.now * 1000);
  const year = today.getUTCFullYear();
  const month = today.getUTCMonth() + 1;
  if (!Number.isInteger(card.exp_year) || card.exp_year < year || card.exp_year > year + 50) {
    throw cardError({ code: "invalid_expiry_year", message: "Your card's expiration year is invalid.", param: "card[exp_year]" });
  }
  if (card.exp_year === year && card.exp_month < month) {
    throw cardError({ code: "invalid_expiry_month", message: "Your card's expiration month is invalid.", param: "card[exp_month]" });
  }
  const brand = brandOf(digits);
  if (card.cvc !== undefined && card.cvc !== "") {
    const len = brand === "amex" ? 4 : 3;
    if (!new RegExp(`^\\d{${len}}$`).test(card.cvc)) {
      throw cardError({ code: "invalid_cvc", message: "Your card's security code is invalid.", param: "card[cvc]" });
    }
  }
  const test = TEST_CARDS[digits];
  return {
    brand,
    last4: digits.slice(-4),
    exp_month: card.exp_month,
    exp_year: card.exp_year,
    fingerprint: fingerprintOf(digits, opts.fingerprintSecret, opts.merchantId),
    funding: test?.funding ?? "credit",
    country: test?.country ?? "US",
    testBehavior: opts.livemode ? undefined : (test?.behavior ?? "succeed"),
  };
}
