// API key format, generation and hashing: what a key looks like and the one
// way it is turned into the value we store.
import { createHash, randomInt } from "node:crypto";

/** The spec's four key kinds: `pk_live_`, `pk_test_`, `sk_live_`, `sk_test_`, then the random part. */
export const API_KEY_FORMAT = /^(pk|sk)_(live|test)_[A-Za-z0-9]{1,200}$/;

/** How many characters of a key are kept for display and logs (`sk_test_Ab3x`). */
export const KEY_PREFIX_LENGTH = 12;

/** What a key's text says about it. */
export interface KeyShape {
  kind: "pk" | "sk";
  livemode: boolean;
}

/** Parses a key's prefix; undefined if it is not a well-formed API key. */
export function parseApiKey(key: string): KeyShape | undefined {
  const m = API_KEY_FORMAT.exec(key);
  if (!m) return undefined;
  return { kind: m[1] as "pk" | "sk", livemode: m[2] === "live" };
}

/**
 * sha256 of the key, hex. Our keys are 32 random base62 characters (~190
 * bits), so no one can guess them from the hash: a slow password hash
 * (bcrypt, scrypt) would add nothing but latency to every request.
 */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** `n` uniformly random base62 characters from the CSPRNG. */
export function randomBase62(n: number): string {
  let out = "";
  for (let i = 0; i < n; i++) out += BASE62[randomInt(62)];
  return out;
}

/** A new raw API key of the given kind and mode. */
export function generateApiKey(shape: KeyShape): string {
  return `${shape.kind}_${shape.livemode ? "live" : "test"}_${randomBase62(32)}`;
}

/** The part of a key safe to show: its first characters and the key's kind. */
export function keyPrefix(key: string): string {
  return key.slice(0, KEY_PREFIX_LENGTH);
}
