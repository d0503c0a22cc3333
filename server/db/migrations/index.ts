// The migrations, in order, as TypeScript modules (no directory scanning, so
// they work the same under tsx, vitest and a bundler). Each owner adds the
// line for its own migration.
import type { Knex } from "knex";
import * as accounts from "./001_accounts";
import * as payments from "./002_payments";
import * as events from "./003_events";

/** One migration module. */
export interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/** Every migration, in the order they apply. */
export const MIGRATIONS: ReadonlyArray<[name: string, migration: Migration]> = [
  ["001_accounts", accounts],
  ["002_payments", payments],
  ["003_events", events],
];

/** The knex MigrationSource over MIGRATIONS. */
export const migrationSource: Knex.MigrationSource<[string, Migration]> = {
  getMigrations: async () => [...MIGRATIONS],
  getMigrationName: ([name]) => name,
  getMigration: async ([, migration]) => migration,
};

const config: Knex.MigratorConfig = { migrationSource, tableName: "knex_migrations" };

/** Applies every pending migration; returns the names applied. */
export async function migrateLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest(config)) as [number, string[]];
  return applied;
}

/** Names of the migrations not yet applied to `db`. */
export async function pendingMigrations(db: Knex): Promise<string[]> {
  const [, pending] = (await db.migrate.list(config)) as [unknown, Array<[string, Migration]>];
  return pending.map(([name]) => name);
}

/**
 * Refuses to run against a database with unapplied migrations: the code
 * would query tables or columns that are not there yet.
 */
export async function checkMigrations(db: Knex): Promise<void> {
  const pending = await pendingMigrations(db);
  if (pending.length > 0) {
    throw new Error(`The database has ${pending.length} unapplied migration(s) (${pending.join(", ")}). Run \`npm run migrate\`, or start with MIGRATE=true.`);
  }
}
