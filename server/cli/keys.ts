// `npm run keys -- <command>`: merchants and API keys on DATABASE_URL.
// Raw keys are printed once, when created; the database keeps only hashes.
import { checkMigrations, migrateLatest } from "../db/migrations";
import {
  createApiKey,
  createMerchantWithKeys,
  listApiKeys,
  listMerchants,
  revokeApiKey,
  setMerchantActive,
  setMerchantRateLimits,
} from "../merchants/service";
import { openConfiguredDb } from "./db";

const USAGE = `Usage: npm run keys -- <command>
  create-merchant NAME [--test-only]   a merchant with sk/pk keys for test (and live) mode
  create-key MERCHANT_ID sk|pk test|live
  list [MERCHANT_ID]                   merchants and their keys (prefixes only)
  revoke KEY_ID                        stops the key within a few seconds
  suspend MERCHANT_ID                  every key of the merchant gets 403 "Account suspended"
  reinstate MERCHANT_ID
  rate-limit MERCHANT_ID [default=N] [payment_creation=N]   per-minute overrides; none given clears them`;

class UsageError extends Error {}

const fmtTime = (s: number) => new Date(s * 1000).toISOString().replace(".000", "");

async function main(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  if (!command || command === "help" || command === "--help") {
    console.log(USAGE);
    return;
  }
  const { db, migrate } = openConfiguredDb();
  try {
    if (migrate) await migrateLatest(db);
    else await checkMigrations(db);
    switch (command) {
      case "create-merchant": {
        const name = rest.filter((a) => !a.startsWith("--")).join(" ");
        if (!name) throw new UsageError("create-merchant needs a NAME");
        const { merchant, keys } = await createMerchantWithKeys(db, { name, live: !rest.includes("--test-only") });
        console.log(`Created merchant ${merchant.id} (${merchant.name}). Its keys, shown only this once:`);
        for (const k of Object.values(keys)) console.log(k.key);
        return;
      }
      case "create-key": {
        const [merchantId, kind, mode] = rest;
        if (!merchantId || (kind !== "sk" && kind !== "pk") || (mode !== "test" && mode !== "live")) {
          throw new UsageError("create-key needs MERCHANT_ID sk|pk test|live");
        }
        const key = await createApiKey(db, merchantId, { kind, livemode: mode === "live" });
        console.log(`Created key ${key.id} for ${merchantId}, shown only this once:`);
        console.log(key.key);
        return;
      }
      case "list": {
        const merchants = (await listMerchants(db)).filter((m) => !rest[0] || m.id === rest[0]);
        if (rest[0] && merchants.length === 0) throw new Error(`No such merchant: ${rest[0]}`);
        const keys = await listApiKeys(db, rest[0]);
        for (const m of merchants) {
          const limits = m.rateLimits ? `  rate limits ${JSON.stringify(m.rateLimits)}` : "";
          console.log(`${m.id}  ${m.active ? "active   " : "SUSPENDED"}  ${m.name}  (created ${fmtTime(m.created)})${limits}`);
          for (const k of keys.filter((k) => k.merchantId === m.id)) {
            const state = k.revokedAt ? `revoked ${fmtTime(k.revokedAt)}` : "active";
            console.log(`    ${k.id}  ${k.prefix}…  ${k.kind === "sk" ? "secret     " : "publishable"}  ${k.livemode ? "live" : "test"}  ${state}`);
          }
        }
        if (merchants.length === 0) console.log("No merchants yet: npm run keys -- create-merchant NAME");
        return;
      }
      case "revoke": {
        if (!rest[0]) throw new UsageError("revoke needs KEY_ID (see `list`)");
        if (!(await revokeApiKey(db, rest[0]))) throw new Error(`No such active key: ${rest[0]}`);
        console.log(`Revoked ${rest[0]}; running servers refuse it within a few seconds (their auth cache).`);
        return;
      }
      case "suspend":
      case "reinstate": {
        if (!rest[0]) throw new UsageError(`${command} needs MERCHANT_ID`);
        if (!(await setMerchantActive(db, rest[0], command === "reinstate"))) throw new Error(`No such merchant: ${rest[0]}`);
        console.log(`${command === "suspend" ? "Suspended" : "Reinstated"} ${rest[0]}.`);
        return;
      }
      case "rate-limit": {
        const [merchantId, ...pairs] = rest;
        if (!merchantId) throw new UsageError("rate-limit needs MERCHANT_ID");
        const limits: Record<string, number> = {};
        for (const pair of pairs) {
          const m = /^(default|payment_creation)=(\d+)$/.exec(pair);
          if (!m || Number(m[2]) < 1) throw new UsageError(`Not a limit: ${pair} (want default=N or payment_creation=N, N ≥ 1)`);
          limits[m[1]] = Number(m[2]);
        }
        const value = pairs.length ? limits : null;
        if (!(await setMerchantRateLimits(db, merchantId, value))) throw new Error(`No such merchant: ${merchantId}`);
        console.log(value ? `Rate limits of ${merchantId}: ${JSON.stringify(value)} requests/minute.` : `Rate limits of ${merchantId}: the defaults.`);
        return;
      }
      default:
        throw new UsageError(`Unknown command: ${command}`);
    }
  } finally {
    await db.destroy();
  }
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  if (err instanceof UsageError) console.error(USAGE);
  process.exit(1);
});
