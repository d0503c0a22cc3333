// Object ids and client secrets. An id is a creation-time prefix and 20
// random characters (crypto randomness, ~119 bits: unguessable). The time
// prefix keeps new ids at the right edge of the id indexes, so an insert
// touches the same few B-tree pages instead of a random one (fewer dirty
// pages per commit on SQLite, better locality on PostgreSQL). Pagination does
// not rely on it: it orders by each table's `seq` column.
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
export type IdPrefix = "pi" | "pm" | "ch" | "re" | "cus" | "evt" | "we" | "whd" | "req" | "dp";

/** Milliseconds since the epoch as 8 base62 digits (sorts like the number until the year 8900). */
function timePrefix(ms: number): string {
  let out = "";
  for (let i = 0; i < 8; i++) {
    out = ALPHABET[ms % 62] + out;
    ms = Math.floor(ms / 62);
  }
  return out;
}

/** A new object id, e.g. `pi_0Y3kq2Lb` + 20 random base62 characters. */
export function newId(prefix: IdPrefix, nowMs = Date.now()): string {
  return `${prefix}_${timePrefix(nowMs)}${randomToken(20)}`;
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
