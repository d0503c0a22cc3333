// Money rules, metadata limits, pagination parameters and ids.
import { describe, expect, it } from "vitest";
import { applyMetadata, formatAmount, MAX_AMOUNT, minorUnitDigits, parseAmount, parseCurrency } from "../../server/domain/money";
import { clientSecretFor, clientSecretMatches, newId, randomToken } from "../../server/domain/ids";
import { parsePage, toPage } from "../../server/domain/pagination";
import { ApiError } from "../../server/errors";

function fieldsOf(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e.fields;
    throw e;
  }
  throw new Error("expected an ApiError");
}

describe("money", () => {
  it("accepts ISO 4217 lowercase codes only", () => {
    expect(parseCurrency("usd")).toBe("usd");
    expect(parseCurrency("jpy")).toBe("jpy");
    expect(fieldsOf(() => parseCurrency("USD"))).toMatchObject({ code: "parameter_invalid", param: "currency" });
    expect(fieldsOf(() => parseCurrency("xyz"))).toMatchObject({ code: "parameter_invalid", param: "currency" });
    expect(fieldsOf(() => parseCurrency(""))).toMatchObject({ code: "parameter_missing", param: "currency" });
  });

  it("knows minor units and formats amounts", () => {
    expect(minorUnitDigits("jpy")).toBe(0);
    expect(minorUnitDigits("krw")).toBe(0);
    expect(minorUnitDigits("usd")).toBe(2);
    expect(minorUnitDigits("bhd")).toBe(3);
    expect(formatAmount(2000, "usd")).toBe("$20.00");
    expect(formatAmount(500, "jpy")).toBe("¥500");
    expect(formatAmount(12500, "bhd")).toContain("12.500");
  });

  it("checks amounts: integer 1..99999999", () => {
    expect(parseAmount(1)).toBe(1);
    expect(parseAmount(MAX_AMOUNT)).toBe(MAX_AMOUNT);
    expect(fieldsOf(() => parseAmount(0))).toMatchObject({ code: "parameter_invalid", param: "amount" });
    expect(fieldsOf(() => parseAmount(-5))).toMatchObject({ param: "amount" });
    expect(fieldsOf(() => parseAmount(MAX_AMOUNT + 1))).toMatchObject({ param: "amount" });
    expect(fieldsOf(() => parseAmount(undefined))).toMatchObject({ code: "parameter_missing", param: "amount" });
  });

  it("enforces metadata limits and merges updates", () => {
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, "v"]));
    expect(Object.keys(applyMetadata(fifty))).toHaveLength(50);
    expect(fieldsOf(() => applyMetadata({ ...fifty, extra: "v" }))).toMatchObject({ param: "metadata" });
    expect(fieldsOf(() => applyMetadata({ ["k".repeat(41)]: "v" })).code).toBe("parameter_invalid");
    expect(fieldsOf(() => applyMetadata({ k: "v".repeat(501) })).code).toBe("parameter_invalid");
    expect(applyMetadata({ a: "", c: "3" }, { a: "1", b: "2" })).toEqual({ b: "2", c: "3" });
  });
});

describe("pagination parameters", () => {
  it("defaults to 10 and allows 1..100", () => {
    expect(parsePage({}).limit).toBe(10);
    expect(parsePage({ limit: 100 }).limit).toBe(100);
    expect(fieldsOf(() => parsePage({ limit: 0 }))).toMatchObject({ param: "limit" });
    expect(fieldsOf(() => parsePage({ limit: 101 }))).toMatchObject({ param: "limit" });
    expect(fieldsOf(() => parsePage({ starting_after: "a", ending_before: "b" }))).toMatchObject({ param: "ending_before" });
  });

  it("turns over-fetched rows into a newest-first page", () => {
    expect(toPage([5, 4, 3], { limit: 2 })).toEqual({ rows: [5, 4], hasMore: true });
    expect(toPage([6, 7], { limit: 2, endingBefore: "x" })).toEqual({ rows: [7, 6], hasMore: false });
  });
});

describe("ids", () => {
  it("are prefixed, random and unguessable", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newId("pi")));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^pi_[0-9A-Za-z]{28}$/);
    expect(randomToken(40)).toHaveLength(40);
    // Same millisecond: same 8-character time prefix, different random part.
    const [a, b] = [newId("ch", 1_795_000_000_000), newId("ch", 1_795_000_000_000)];
    expect(a.slice(0, 11)).toBe(b.slice(0, 11));
    expect(a).not.toBe(b);
    // Later ids sort after earlier ones (ASCII order of the time prefix).
    expect(newId("ch", 1_795_000_000_001) > newId("ch", 1_795_000_000_000)).toBe(true);
    expect(newId("ch", 62 ** 5) > newId("ch", 62 ** 5 - 1)).toBe(true);
  });

  it("client secrets are {id}_secret_{random}, derived and checked in constant time", () => {
    const secret = clientSecretFor("pi_abc", "server-secret");
    expect(secret).toMatch(/^pi_abc_secret_[A-Za-z0-9_-]{32}$/);
    expect(clientSecretFor("pi_abc", "server-secret")).toBe(secret);
    expect(clientSecretFor("pi_abc", "other-secret")).not.toBe(secret);
    expect(clientSecretMatches("pi_abc", secret, "server-secret")).toBe(true);
    expect(clientSecretMatches("pi_abd", secret, "server-secret")).toBe(false);
    expect(clientSecretMatches("pi_abc", "pi_abc_secret_x", "server-secret")).toBe(false);
  });
});
