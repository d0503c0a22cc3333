// API key text: the format check, generation and hashing (pure, no server).
import { describe, expect, it } from "vitest";
import { generateApiKey, hashApiKey, keyPrefix, parseApiKey } from "../../server/auth/keys";

describe("API keys", () => {
  it("generates keys of each kind that parse back to that kind", () => {
    for (const kind of ["pk", "sk"] as const) {
      for (const livemode of [false, true]) {
        const key = generateApiKey({ kind, livemode });
        expect(key).toMatch(new RegExp(`^${kind}_${livemode ? "live" : "test"}_[A-Za-z0-9]{32}$`));
        expect(parseApiKey(key)).toEqual({ kind, livemode });
      }
    }
  });

  it("never repeats a key", () => {
    const keys = new Set(Array.from({ length: 10_000 }, () => generateApiKey({ kind: "sk", livemode: false })));
    expect(keys.size).toBe(10_000);
  });

  it("accepts the spec's example keys and refuses other shapes", () => {
    expect(parseApiKey("pk_test_1234567890abcdef")).toEqual({ kind: "pk", livemode: false });
    expect(parseApiKey("sk_test_1234567890abcdef")).toEqual({ kind: "sk", livemode: false });
    for (const bad of ["", "sk_test_", "sk_live", "rk_live_abc", "sk_test_abc-def", " sk_test_abc", "SK_TEST_abc", `sk_test_${"a".repeat(201)}`]) {
      expect(parseApiKey(bad), bad).toBeUndefined();
    }
  });

  it("stores a sha256 hash and shows only a 12-character prefix", () => {
    const key = "sk_test_1234567890abcdef";
    expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(key)).toBe(hashApiKey(key));
    expect(hashApiKey(key)).not.toBe(hashApiKey("sk_test_1234567890abcdeg"));
    expect(keyPrefix(key)).toBe("sk_test_1234");
  });
});
