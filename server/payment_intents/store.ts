// Payment intent queries, scoped by merchant and mode. Writers guard on
// `version` (bumped by every change), so a change based on a stale read
// updates nothing and is refused instead of overwriting another.
import type { Knex } from "knex";
import { paymentIntentUnexpectedState, resourceMissing } from "../errors";
import type { Scope } from "../db/resources";
import type { IntentRow } from "./mapper";

/** An intent in scope (row-locked on PostgreSQL when `forUpdate`), or resource_missing. */
export async function loadIntent(db: Knex | Knex.Transaction, scope: Scope, id: string, forUpdate = false, param = "id"): Promise<IntentRow> {
  const q = db("payment_intents").where({ id, merchant_id: scope.merchantId, livemode: scope.livemode });
  if (forUpdate) q.forUpdate();
  const row = (await q.first()) as IntentRow | undefined;
  if (!row) throw resourceMissing("payment_intent", id, param);
  return row;
}

/**
 * Writes `changes` if the row is still at `row.version`, bumping it. Returns
 * the new row; throws payment_intent_unexpected_state if another change won.
 */
export async function updateIntent(trx: Knex.Transaction, row: IntentRow, changes: Partial<IntentRow>, verb: string): Promise<IntentRow> {
  const next = { ...row, ...changes, version: Number(row.version) + 1 };
  const { seq: _s, id: _i, merchant_id: _m, livemode: _l, created: _c, ...cols } = { ...changes, version: next.version } as IntentRow;
  const n = await trx("payment_intents").where({ id: row.id, version: row.version }).update(cols);
  if (n !== 1) {
    const current = (await trx("payment_intents").select("status").where({ id: row.id }).first()) as { status: string } | undefined;
    throw paymentIntentUnexpectedState(row.id, current?.status ?? row.status, verb);
  }
  return next;
}
