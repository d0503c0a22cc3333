// The pipeline's Authenticator: `authorization: Bearer <key>` → the calling
// merchant, mode and key type, or the spec's authentication error.
import type { Knex } from "knex";
import { accountSuspended, invalidApiKey, type ApiError } from "../errors";
import { bool } from "../db/knex";
import type { Authenticator } from "../pipeline/pipeline";
import type { Caller } from "../pipeline/types";
import { hashApiKey, keyPrefix, parseApiKey } from "./keys";

/** Options of ApiKeyAuthenticator. */
export interface ApiKeyAuthenticatorOptions {
  /**
   * How long a lookup is reused, in ms (default 2000). This bounds how long a
   * revoked key or a suspended merchant keeps working, also when the change
   * was made by another process (the CLI): there is no invalidation message,
   * only expiry. 0 disables the cache.
   */
  cacheMs?: number;
  /** At most this many keys are cached (default 10,000); beyond that the cache starts over. */
  maxEntries?: number;
}

type Lookup = { caller: Caller } | { error: () => ApiError };

const MISSING =
  "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').";

/** Keeps a key's last characters only, as the message for an unknown key. */
function redact(key: string): string {
  return `${keyPrefix(key).slice(0, 8)}${"*".repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`;
}

/** Authenticates API keys against the `api_keys` and `merchants` tables, with a short cache. */
export class ApiKeyAuthenticator implements Authenticator {
  private readonly cache = new Map<string, { lookup: Lookup; until: number }>();
  private readonly cacheMs: number;
  private readonly maxEntries: number;

  constructor(
    private readonly db: Knex,
    options: ApiKeyAuthenticatorOptions = {},
  ) {
    this.cacheMs = options.cacheMs ?? 2000;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  async authenticate(authorization: string | undefined): Promise<Caller> {
    if (!authorization) throw invalidApiKey(MISSING);
    const m = /^Bearer +(\S+) *$/i.exec(authorization);
    if (!m) throw invalidApiKey("Invalid authorization header: use 'Authorization: Bearer YOUR_API_KEY'.");
    const key = m[1];
    if (!parseApiKey(key)) {
      throw invalidApiKey("Invalid API key format: keys start with pk_live_, pk_test_, sk_live_ or sk_test_.");
    }
    const hash = hashApiKey(key);
    const now = Date.now();
    let entry = this.cache.get(hash);
    if (!entry || entry.until <= now) {
      entry = { lookup: await this.lookup(hash, key), until: now + this.cacheMs };
      if (this.cacheMs > 0) {
        if (this.cache.size >= this.maxEntries) this.cache.clear();
        this.cache.set(hash, entry);
      }
    }
    if ("error" in entry.lookup) throw entry.lookup.error();
    return entry.lookup.caller;
  }

  /** Forgets every cached lookup (after a change made in this process). */
  clearCache(): void {
    this.cache.clear();
  }

  private async lookup(hash: string, key: string): Promise<Lookup> {
    const row = await this.db("api_keys as k")
      .join("merchants as m", "m.id", "k.merchant_id")
      .where("k.key_hash", hash)
      .first("k.id", "k.merchant_id", "k.kind", "k.livemode", "k.revoked_at", "m.active", "m.rate_limits");
    if (!row || row.revoked_at != null) {
      return { error: () => invalidApiKey(`Invalid API key provided: ${redact(key)}`) };
    }
    if (!bool(row.active)) return { error: accountSuspended };
    return {
      caller: {
        merchantId: row.merchant_id,
        livemode: bool(row.livemode),
        keyType: row.kind === "sk" ? "secret" : "publishable",
        keyId: row.id,
        rateLimits: row.rate_limits ? JSON.parse(row.rate_limits) : undefined,
      },
    };
  }
}
