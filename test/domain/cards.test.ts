// Card rules: Luhn, brands, expiry, fingerprints, test-card behaviours.
import { describe, expect, it } from "vitest";
import { ApiError } from "../../server/errors";
import { brandOf, fingerprintOf, inspectCard, luhnValid, TEST_CARDS } from "../../server/domain/cards";

const NOW = Date.UTC(2026, 10, 26) / 1000; // 2026-11-26
const opts = { now: NOW, livemode: false, fingerprintSecret: "fp-secret", merchantId: "acct_1" };

function errorOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error("expected an ApiError");
}

describe("cards", () => {
  it("checks Luhn", () => {
    expect(luhnValid("4242424242424242")).toBe(true);
    expect(luhnValid("4242424242424241")).toBe(false);
    for (const n of Object.keys(TEST_CARDS)) expect(luhnValid(n), n).toBe(true);
  });

  it.each([
    ["4242424242424242", "visa"],
    ["5555555555554444", "mastercard"],
    ["2223003122003222", "mastercard"],
    ["378282246310005", "amex"],
    ["6011111111111117", "discover"],
    ["3056930009020004", "diners"],
    ["3566002020360505", "jcb"],
    ["6200000000000005", "unionpay"],
    ["9999999999999995", "unknown"],
  ])("brand of %s is %s", (n, brand) => expect(brandOf(n)).toBe(brand));

  it("refuses the spec's 12/2025 card as an invalid expiry year", () => {
    const err = errorOf(() => inspectCard({ number: "4242424242424242", exp_month: 12, exp_year: 2025, cvc: "123" }, opts));
    expect(err.type).toBe("card_error");
    expect(err.fields.code).toBe("invalid_expiry_year");
    expect(err.fields.param).toBe("card[exp_year]");
  });

  it("refuses an earlier month of this year, accepts this month", () => {
    expect(errorOf(() => inspectCard({ number: "4242424242424242", exp_month: 10, exp_year: 2026 }, opts)).fields.code).toBe("invalid_expiry_month");
    expect(inspectCard({ number: "4242424242424242", exp_month: 11, exp_year: 2026 }, opts).exp_month).toBe(11);
  });

  it("refuses bad numbers and CVCs, naming the param", () => {
    expect(errorOf(() => inspectCard({ number: "4242424242424241", exp_month: 1, exp_year: 2030 }, opts)).fields).toMatchObject({
      code: "incorrect_number",
      param: "card[number]",
    });
    expect(errorOf(() => inspectCard({ number: "42424242abcd", exp_month: 1, exp_year: 2030 }, opts)).fields.code).toBe("invalid_number");
    expect(errorOf(() => inspectCard({ number: "", exp_month: 1, exp_year: 2030 }, opts)).fields).toMatchObject({
      code: "parameter_missing",
      param: "card[number]",
    });
    expect(errorOf(() => inspectCard({ number: "4242424242424242", exp_month: 13, exp_year: 2030 }, opts)).fields.code).toBe("invalid_expiry_month");
    expect(errorOf(() => inspectCard({ number: "4242424242424242", exp_month: 1, exp_year: 2030, cvc: "12" }, opts)).fields.code).toBe("invalid_cvc");
    expect(errorOf(() => inspectCard({ number: "378282246310005", exp_month: 1, exp_year: 2030, cvc: "123" }, opts)).fields.code).toBe("invalid_cvc");
  });

  it("keeps only facts: brand, last4, fingerprint, funding, country, behaviour", () => {
    const facts = inspectCard({ number: "4242 4242 4242 4242", exp_month: 1, exp_year: 2030, cvc: "123" }, opts);
    expect(facts).toEqual({
      brand: "visa",
      last4: "4242",
      exp_month: 1,
      exp_year: 2030,
      fingerprint: fingerprintOf("4242424242424242", "fp-secret", "acct_1"),
      funding: "credit",
      country: "US",
      testBehavior: "succeed",
    });
    expect(JSON.stringify(facts)).not.toContain("4242424242424242");
    expect(JSON.stringify(facts)).not.toContain("123");
  });

  it("fingerprints the same card alike per merchant, differently across merchants", () => {
    const a = inspectCard({ number: "4242424242424242", exp_month: 1, exp_year: 2030 }, opts).fingerprint;
    const b = inspectCard({ number: "4242424242424242", exp_month: 5, exp_year: 2031 }, opts).fingerprint;
    const c = inspectCard({ number: "4242424242424242", exp_month: 1, exp_year: 2030 }, { ...opts, merchantId: "acct_2" }).fingerprint;
    const d = inspectCard({ number: "5555555555554444", exp_month: 1, exp_year: 2030 }, opts).fingerprint;
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(a).not.toBe(d);
  });

  it("takes funding and country from the test-card table, and no behaviour in live mode", () => {
    expect(inspectCard({ number: "4000056655665556", exp_month: 1, exp_year: 2030 }, opts).funding).toBe("debit");
    expect(inspectCard({ number: "4000000760000002", exp_month: 1, exp_year: 2030 }, opts).country).toBe("BR");
    expect(inspectCard({ number: "4000000000000002", exp_month: 1, exp_year: 2030 }, opts).testBehavior).toBe("generic_decline");
    expect(inspectCard({ number: "4000000000000002", exp_month: 1, exp_year: 2030 }, { ...opts, livemode: true }).testBehavior).toBeUndefined();
  });
});
