// Object ids and client secrets. Ids are random and unguessable (crypto
// randomness, ~143 bits); ordering for pagination comes from a per-table
// sequence column, not from the id, so nothing about time leaks from an id.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// Random bytes are drawn from the CSPRNG in 4 KiB batches: one syscall per
// ~100 ids instead of one per id (ids are made on every write).
let pool = Buffer.alloc(0);
let poolAt = 0;

function randomByte(): number {
  if (poolAt >= pool.length) {
    pool = randomBytes(4096);
    poolAt = 0;
  }
  return pool[poolAt++];
}

/** A random base62 string of `length` characters (rejection sampling: no modulo bias). */
export function randomToken(length: number): string {
  let out = "";
  while (out.length < length) {
    const b = randomByte();
    if (b < 248) out += ALPHABET[b % 62]; // 248 = 4 * 62
  }
  return out;
}

/** The id prefixes of the API's objects. */
export type IdPrefix = "pi" | "pm" | "ch" | "re" | "cus" | "evt" | "we" | "req" | "dp";

/** A new object id, e.g. `pi_3Fq9...` (24 random base62 characters after the prefix). */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomToken(24)}`;
}

/** Whether `id` looks like an id with `prefix` (cheap shape check before a lookup). */
export function hasPrefix(id: string, prefix: IdPrefix): boolean {
  return id.startsWith(`${prefix}_`) && id.length <= 64;
}

/**
 * The client secret of a payment intent: `{id}_secret_{mac}`. It is derived
 * (HMAC of the id under a deployment secret) rather than stored, so the
 * database never holds it and it can still be shown again on retrieve.
 */
export function clientSecretFor(intentId: string, serverSecret: string): string {
  const mac = createHmac("sha256", `client_secret:${serverSecret}`).update(intentId).digest("base64url").slice(0, 32);
  return `${intentId}_secret_${mac}`;
}

/** Constant-time check of a presented client secret against the intent's. */
export function clientSecretMatches(intentId: string, presented: string, serverSecret: string): boolean {
  const expected = Buffer.from(clientSecretFor(intentId, serverSecret));
  const given = Buffer.from(presented);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** The intent id inside a client secret (`pi_x_secret_y` → `pi_x`), or undefined. */
export function intentIdOfClientSecret(secret: string): string | undefined {
  const i = secret.indexOf("_secret_");
  return i > 0 ? secret.slice(0, i) : undefined;
}
