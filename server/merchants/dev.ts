// The development merchant `npm start` creates on an empty database, so a
// fresh checkout can call the API at once.
import type { Knex } from "knex";
import { isUniqueViolation } from "../db/knex";
import { createMerchantWithKeys, type CreatedApiKey, type Merchant } from "./service";

/** What ensureDevelopmentMerchant did. */
export type DevMerchant =
  | { created: true; merchant: Merchant; secret: CreatedApiKey; publishable: CreatedApiKey }
  | { created: false; merchants: number };

/**
 * Creates a "Development" merchant with test keys if the database has no
 * merchant yet. The `settings` row makes this happen once even when several
 * processes start on one empty database.
 */
export async function ensureDevelopmentMerchant(db: Knex): Promise<DevMerchant> {
  const count = async () => Number((await db("merchants").count({ n: "*" }).first())?.n ?? 0);
  const existing = await count();
  if (existing > 0) return { created: false, merchants: existing };
  try {
    await db("settings").insert({ name: "development_merchant", value: String(Math.floor(Date.now() / 1000)) });
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    return { created: false, merchants: await count() };
  }
  const { merchant, keys } = await createMerchantWithKeys(db, { name: "Development", live: false });
  return { created: true, merchant, secret: keys.secret, publishable: keys.publishable };
}

/** The lines `npm start` prints about the development merchant (raw keys alone on their lines). */
export function describeDevMerchant(dev: DevMerchant): string[] {
  if (dev.created) {
    return [
      `Created the development merchant ${dev.merchant.id}. Its test keys, shown only this once (they are stored hashed):`,
      dev.secret.key,
      dev.publishable.key,
      `Make more with: npm run keys -- create-key ${dev.merchant.id} sk test`,
    ];
  }
  return [
    `${dev.merchants} merchant(s) exist; their keys are stored hashed and cannot be shown again.`,
    "List them with `npm run keys -- list`; make a new key with `npm run keys -- create-key <acct_id> sk test`,",
    "or a new merchant with its keys with `npm run keys -- create-merchant <name>`.",
  ];
}
