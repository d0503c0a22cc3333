// `npm run migrate`: applies pending migrations to DATABASE_URL.
// `npm run migrate -- --status` lists them without applying.
import { migrateLatest, pendingMigrations } from "../db/migrations";
import { openConfiguredDb } from "./db";

async function main(): Promise<number> {
  const { db } = openConfiguredDb();
  try {
    if (process.argv.includes("--status")) {
      const pending = await pendingMigrations(db);
      console.log(pending.length ? `Pending: ${pending.join(", ")}` : "Up to date.");
      return pending.length ? 1 : 0;
    }
    const applied = await migrateLatest(db);
    console.log(applied.length ? `Applied: ${applied.join(", ")}` : "Already up to date.");
    return 0;
  } finally {
    await db.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`Migration failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
