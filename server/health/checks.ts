// Liveness and readiness. Alive: the process answers. Ready: the database
// answers and every migration this code expects has been applied, so a load
// balancer sends traffic only to processes that can serve it.
import type { Knex } from "knex";
import { pendingMigrations } from "../db/migrations";

/** The outcome of a readiness check, as /readyz prints it. */
export interface Readiness {
  ready: boolean;
  checks: { database: "ok" | string; migrations: "ok" | string };
}

/** How long a readiness query may take before the process counts as not ready. */
const CHECK_TIMEOUT_MS = 2000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    timer.unref();
    promise.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

/** Checks that `db` answers and has no pending migration. */
export async function checkReadiness(db: Knex): Promise<Readiness> {
  const checks: Readiness["checks"] = { database: "ok", migrations: "ok" };
  try {
    await withTimeout(db.raw("select 1"), CHECK_TIMEOUT_MS);
  } catch (err) {
    checks.database = `unreachable: ${err instanceof Error ? err.message : String(err)}`;
    checks.migrations = "unknown";
    return { ready: false, checks };
  }
  try {
    const pending = await withTimeout(pendingMigrations(db), CHECK_TIMEOUT_MS);
    if (pending.length) checks.migrations = `pending: ${pending.join(", ")}`;
  } catch (err) {
    checks.migrations = `unknown: ${err instanceof Error ? err.message : String(err)}`;
  }
  return { ready: checks.migrations === "ok", checks };
}
