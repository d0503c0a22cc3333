// Merchants and their API keys: the operations behind `npm run keys`, the
// development merchant of `npm start`, and the test harness. Raw keys leave
// this module only once, in the result of createApiKey.
import type { Knex } from "knex";
import { generateApiKey, hashApiKey, keyPrefix, randomBase62, type KeyShape } from "../auth/keys";
import { bool } from "../db/knex";
import type { RateClass } from "../pipeline/types";

/** A merchant account. */
export interface Merchant {
  id: string;
  name: string;
  active: boolean;
  /** Requests per minute by rate class, overriding the defaults. */
  rateLimits?: Partial<Record<RateClass, number>>;
  created: number;
}

/** An API key as stored: never the key itself. */
export interface ApiKeyRecord {
  id: string;
  merchantId: string;
  kind: "pk" | "sk";
  livemode: boolean;
  prefix: string;
  created: number;
  revokedAt?: number;
}

/** A key just created: the only time its raw value is known. */
export interface CreatedApiKey extends ApiKeyRecord {
  key: string;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Row → Merchant. */
export function merchantFromRow(row: Record<string, unknown>): Merchant {
  return {
    id: row.id as string,
    name: row.name as string,
    active: bool(row.active),
    rateLimits: row.rate_limits ? JSON.parse(row.rate_limits as string) : undefined,
    created: Number(row.created),
  };
}

function keyFromRow(row: Record<string, unknown>): ApiKeyRecord {
  return {
    id: row.id as string,
    merchantId: row.merchant_id as string,
    kind: row.kind as "pk" | "sk",
    livemode: bool(row.livemode),
    prefix: row.prefix as string,
    created: Number(row.created),
    revokedAt: row.revoked_at == null ? undefined : Number(row.revoked_at),
  };
}

/** Creates a merchant (without keys). */
export async function createMerchant(
  db: Knex,
  input: { name: string; rateLimits?: Merchant["rateLimits"]; now?: number },
): Promise<Merchant> {
  const name = input.name.trim();
  if (!name) throw new Error("A merchant needs a name.");
  const merchant: Merchant = { id: `acct_${randomBase62(16)}`, name, active: true, rateLimits: input.rateLimits, created: input.now ?? nowSeconds() };
  await db("merchants").insert({
    id: merchant.id,
    name: merchant.name,
    active: true,
    rate_limits: merchant.rateLimits ? JSON.stringify(merchant.rateLimits) : null,
    created: merchant.created,
  });
  return merchant;
}

/** Creates an API key for a merchant and returns it with its raw value (shown once). */
export async function createApiKey(db: Knex, merchantId: string, shape: KeyShape, now = nowSeconds()): Promise<CreatedApiKey> {
  const merchant = await db("merchants").where({ id: merchantId }).first("id");
  if (!merchant) throw new Error(`No such merchant: ${merchantId}`);
  const key = generateApiKey(shape);
  const record: ApiKeyRecord = { id: `key_${randomBase62(16)}`, merchantId, kind: shape.kind, livemode: shape.livemode, prefix: keyPrefix(key), created: now };
  await db("api_keys").insert({
    id: record.id,
    merchant_id: merchantId,
    kind: record.kind,
    livemode: record.livemode,
    prefix: record.prefix,
    key_hash: hashApiKey(key),
    created: now,
  });
  return { ...record, key };
}

/** The four keys a new merchant usually gets: secret and publishable, test and live. */
export interface KeySet {
  secret: CreatedApiKey;
  publishable: CreatedApiKey;
  liveSecret: CreatedApiKey;
  livePublishable: CreatedApiKey;
}

/** Creates a merchant with one key of each kind (or test keys only). */
export async function createMerchantWithKeys(
  db: Knex,
  input: { name: string; rateLimits?: Merchant["rateLimits"]; live?: boolean },
): Promise<{ merchant: Merchant; keys: Partial<KeySet> & Pick<KeySet, "secret" | "publishable"> }> {
  const merchant = await createMerchant(db, input);
  const keys = {
    secret: await createApiKey(db, merchant.id, { kind: "sk", livemode: false }),
    publishable: await createApiKey(db, merchant.id, { kind: "pk", livemode: false }),
    ...(input.live === false
      ? {}
      : {
          liveSecret: await createApiKey(db, merchant.id, { kind: "sk", livemode: true }),
          livePublishable: await createApiKey(db, merchant.id, { kind: "pk", livemode: true }),
        }),
  };
  return { merchant, keys };
}

/** Every merchant, oldest first. */
export async function listMerchants(db: Knex): Promise<Merchant[]> {
  return (await db("merchants").orderBy("created").orderBy("id")).map(merchantFromRow);
}

/** A merchant's keys (or every key), oldest first; revoked keys included. */
export async function listApiKeys(db: Knex, merchantId?: string): Promise<ApiKeyRecord[]> {
  const q = db("api_keys").orderBy("created").orderBy("id");
  if (merchantId) q.where({ merchant_id: merchantId });
  return (await q).map(keyFromRow);
}

/** Revokes a key; false if there is no such unrevoked key. Takes effect within the auth cache's lifetime. */
export async function revokeApiKey(db: Knex, keyId: string, now = nowSeconds()): Promise<boolean> {
  const changed = await db("api_keys").where({ id: keyId }).whereNull("revoked_at").update({ revoked_at: now });
  return changed > 0;
}

/** Suspends (active=false) or reinstates a merchant; false if there is no such merchant. */
export async function setMerchantActive(db: Knex, merchantId: string, active: boolean): Promise<boolean> {
  const changed = await db("merchants").where({ id: merchantId }).update({ active });
  return changed > 0;
}

/** Sets or clears a merchant's rate-limit overrides. */
export async function setMerchantRateLimits(db: Knex, merchantId: string, rateLimits: Merchant["rateLimits"] | null): Promise<boolean> {
  const changed = await db("merchants").where({ id: merchantId }).update({ rate_limits: rateLimits ? JSON.stringify(rateLimits) : null });
  return changed > 0;
}
