// The database as the command-line tools open it: same configuration as `npm start`.
import type { Knex } from "knex";
import { loadConfig } from "../config";
import { createDb } from "../db/knex";

/** Opens the configured database (DATABASE_URL, SQLITE_DRIVER, …). */
export function openConfiguredDb(): { db: Knex; url: string; migrate: boolean } {
  const config = loadConfig();
  const db = createDb({
    url: config.databaseUrl,
    driver: config.sqliteDriver,
    synchronous: config.sqliteSynchronous,
    busyTimeoutMs: config.sqliteBusyTimeoutMs,
    poolMax: 2,
  });
  return { db, url: config.databaseUrl, migrate: config.migrate };
}
