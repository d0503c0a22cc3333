// Object ids of the events and webhooks parts: a prefix and 24 random
// base62 characters (~143 bits), unguessable and URL-safe.
import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A new random id such as `evt_1a2B...`. */
export function newId(prefix: string): string {
  const bytes = randomBytes(24);
  let out = "";
  for (const b of bytes) out += ALPHABET[b % 62];
  return `${prefix}_${out}`;
}
