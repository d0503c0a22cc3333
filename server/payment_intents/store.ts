// Payment intent queries, scoped by merchant and mode. Writers guard on
// `version` (bumped by every change), so a change based on a stale read
// updates nothing and is refused instead of overwriting another.
import type { Knex } from "knex";
import { paymentIntentUnexpectedState, resourceMissing } from "../errors";
import { isPostgres } from "../db/knex";
import { inserter, rawRows, updater, type Scope } from "../db/resources";
import type { ChargeRow } from "../charges/mapper";
import { CHARGE_COLUMNS, EMBEDDED_CHARGES } from "../charges/store";
import type { PaymentMethodRow } from "../payment_methods/mapper";
import { PAYMENT_METHOD_COLUMNS } from "../payment_methods/store";
import type { IntentRow } from "./mapper";

/** An intent in scope (row-locked on PostgreSQL when `forUpdate`), or resource_missing. */
export async function loadIntent(db: Knex | Knex.Transaction, scope: Scope, id: string, forUpdate = false, param = "id"): Promise<IntentRow> {
  const q = db("payment_intents").where({ id, merchant_id: scope.merchantId, livemode: scope.livemode });
  if (forUpdate) q.forUpdate();
  const row = (await q.first()) as IntentRow | undefined;
  if (!row) throw resourceMissing("payment_intent", id, param);
  return row;
}

/** The columns of `payment_intents` (the IntentRow fields). */
export const INTENT_COLUMNS = [
  "seq",
  "id",
  "merchant_id",
  "livemode",
  "amount",
  "currency",
  "status",
  "version",
  "description",
  "metadata",
  "payment_method_types",
  "capture_method",
  "confirmation_method",
  "customer_id",
  "payment_method",
  "amount_received",
  "amount_capturable",
  "last_payment_error",
  "return_url",
  "cancellation_reason",
  "canceled_at",
  "latest_charge",
  "created",
] as const satisfies ReadonlyArray<keyof IntentRow>;

/** Inserts a new intent (its `seq` comes from the database). */
export const insertIntent = inserter<Omit<IntentRow, "seq">>("payment_intents", INTENT_COLUMNS.filter((c) => c !== "seq") as Array<keyof Omit<IntentRow, "seq">>);

const writeIntent = updater("payment_intents");

/** Splits a joined row into the intent's columns and the `prefix`ed columns of the other table (undefined when the join found none). */
function splitJoined<T>(joined: Record<string, unknown>, prefix: string, columns: readonly string[]): { row: IntentRow; other: T | undefined } {
  const row: Record<string, unknown> = {};
  for (const c of INTENT_COLUMNS) row[c] = joined[c];
  const other: Record<string, unknown> = {};
  for (const c of columns) other[c] = joined[prefix + c];
  return { row: row as unknown as IntentRow, other: other.id == null ? undefined : (other as T) };
}

const SCOPED = `pi.id = ? and pi.merchant_id = ? and pi.livemode = ?`;
const PM_SELECT = `select pi.*, ${PAYMENT_METHOD_COLUMNS.map((c) => `pm.${c} as pm__${c}`).join(", ")} from payment_intents pi left join payment_methods pm`;
const PM_SCOPE = `pm.merchant_id = pi.merchant_id and pm.livemode = pi.livemode`;
/** By the id given (bound first), else the intent's own; `FOR UPDATE OF pi` on PostgreSQL (the payment method is only read). */
const ATTEMPT_SQL = {
  given: `${PM_SELECT} on pm.id = ? and ${PM_SCOPE} where ${SCOPED}`,
  own: `${PM_SELECT} on pm.id = pi.payment_method and ${PM_SCOPE} where ${SCOPED}`,
};
const WITH_CHARGES_SQL = `select pi.*, ${CHARGE_COLUMNS.map((c) => `ch.${c} as ch__${c}`).join(", ")} from payment_intents pi left join charges ch on ch.payment_intent = pi.id where ${SCOPED} order by ch.seq desc limit ${EMBEDDED_CHARGES + 1}`;

/**
 * An intent in scope, row-locked (PostgreSQL), with the payment method an
 * attempt would use (`pmId`, else the intent's own) in the same query: one
 * statement instead of two on the confirm path. The method is joined only
 * within the intent's merchant and mode, so another merchant's id finds none.
 */
export async function loadIntentForAttempt(
  trx: Knex.Transaction,
  scope: Scope,
  id: string,
  pmId: string | undefined,
): Promise<{ row: IntentRow; pm: PaymentMethodRow | undefined }> {
  const sql = (pmId ? ATTEMPT_SQL.given : ATTEMPT_SQL.own) + (isPostgres(trx) ? " for update of pi" : "");
  const bindings = [...(pmId ? [pmId] : []), id, scope.merchantId, scope.livemode];
  const [joined] = rawRows<Record<string, unknown>>(await trx.raw(sql, bindings));
  if (!joined) throw resourceMissing("payment_intent", id);
  const { row, other } = splitJoined<PaymentMethodRow>(joined, "pm__", PAYMENT_METHOD_COLUMNS);
  return { row, pm: other };
}

/**
 * An intent in scope with its newest charges (up to EMBEDDED_CHARGES + 1, to
 * tell `has_more`), in one query instead of two.
 */
export async function loadIntentWithCharges(db: Knex, scope: Scope, id: string): Promise<{ row: IntentRow; charges: ChargeRow[] }> {
  const rows = rawRows<Record<string, unknown>>(await db.raw(WITH_CHARGES_SQL, [id, scope.merchantId, scope.livemode]));
  if (rows.length === 0) throw resourceMissing("payment_intent", id);
  const charges: ChargeRow[] = [];
  for (const joined of rows) {
    const split = splitJoined<ChargeRow>(joined, "ch__", CHARGE_COLUMNS);
    if (split.other) charges.push(split.other);
  }
  return { row: splitJoined(rows[0], "ch__", []).row, charges };
}

/**
 * Writes `changes` if the row is still at `row.version`, bumping it. Returns
 * the new row; throws payment_intent_unexpected_state if another change won.
 */
export async function updateIntent(trx: Knex.Transaction, row: IntentRow, changes: Partial<IntentRow>, verb: string): Promise<IntentRow> {
  const next = { ...row, ...changes, version: Number(row.version) + 1 };
  const { seq: _s, id: _i, merchant_id: _m, livemode: _l, created: _c, ...cols } = { ...changes, version: next.version } as IntentRow;
  const n = await writeIntent(trx, cols, { id: row.id, version: row.version });
  if (n !== 1) {
    const current = (await trx("payment_intents").select("status").where({ id: row.id }).first()) as { status: string } | undefined;
    throw paymentIntentUnexpectedState(row.id, current?.status ?? row.status, verb);
  }
  return next;
}
