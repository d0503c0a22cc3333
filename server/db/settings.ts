// Per-database settings the core generates once and keeps (the `settings` table).
import { randomBytes } from "node:crypto";
import type { Knex } from "knex";
import { isUniqueViolation } from "./knex";

/** Reads a setting, or stores `make()` under `name` if there is none yet (first writer wins across processes). */
export async function getOrCreateSetting(db: Knex, name: string, make: () => string): Promise<string> {
  const existing = await db("settings").where({ name }).first("value");
  if (existing) return existing.value as string;
  try {
    await db("settings").insert({ name, value: make() });
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
  }
  const row = await db("settings").where({ name }).first("value");
  return row.value as string;
}

/**
 * The HMAC key of card fingerprints: FINGERPRINT_SECRET when set, otherwise
 * one generated for this database. It must be usable to compute
 * fingerprints, so it cannot be hashed; kept in the database it only lets
 * someone who already has the database confirm guessed card numbers.
 * Deployments that want that separation set FINGERPRINT_SECRET.
 */
export async function resolveFingerprintSecret(db: Knex, configured: string | undefined): Promise<string> {
  if (configured) return configured;
  return getOrCreateSetting(db, "fingerprint_secret", () => randomBytes(32).toString("base64url"));
}
