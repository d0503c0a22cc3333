// Charge queries, scoped by merchant and mode.
import type { Knex } from "knex";
import { resourceMissing } from "../errors";
import { inserter, type Scope } from "../db/resources";
import type { ChargeRow } from "./mapper";

/** How many charges a payment intent embeds (`charges.data`); more sets `has_more`. */
export const EMBEDDED_CHARGES = 10;

/** The columns of `charges` (the ChargeRow fields), for queries that select them under an alias. */
export const CHARGE_COLUMNS = [
  "seq",
  "id",
  "merchant_id",
  "livemode",
  "payment_intent",
  "amount",
  "amount_captured",
  "amount_refunded",
  "currency",
  "status",
  "captured",
  "refunded",
  "disputed",
  "payment_method",
  "failure_code",
  "failure_message",
  "decline_code",
  "customer",
  "description",
  "created",
] as const satisfies ReadonlyArray<keyof ChargeRow>;

/** Inserts a new charge (its `seq` comes from the database). */
export const insertCharge = inserter<Omit<ChargeRow, "seq">>("charges", CHARGE_COLUMNS.filter((c) => c !== "seq") as Array<keyof Omit<ChargeRow, "seq">>);

/** A charge in scope, or resource_missing naming `param`. Locks the row (PostgreSQL) inside a transaction when `forUpdate`. */
export async function loadCharge(db: Knex | Knex.Transaction, scope: Scope, id: string, param = "id", forUpdate = false): Promise<ChargeRow> {
  const q = db("charges").where({ id, merchant_id: scope.merchantId, livemode: scope.livemode });
  if (forUpdate) q.forUpdate();
  const row = (await q.first()) as ChargeRow | undefined;
  if (!row) throw resourceMissing("charge", id, param);
  return row;
}

/**
 * The newest charges of each of `intentIds` (up to EMBEDDED_CHARGES + 1 each,
 * to tell `has_more`), in one query: no query per intent.
 */
export async function chargesOfIntents(db: Knex | Knex.Transaction, intentIds: string[]): Promise<Map<string, ChargeRow[]>> {
  const out = new Map<string, ChargeRow[]>(intentIds.map((id) => [id, []]));
  if (intentIds.length === 0) return out;
  const q = db("charges").select("*");
  if (intentIds.length === 1) q.where({ payment_intent: intentIds[0] }).limit(EMBEDDED_CHARGES + 1);
  else q.whereIn("payment_intent", intentIds);
  const rows = (await q.orderBy("seq", "desc")) as ChargeRow[];
  for (const row of rows) {
    const list = out.get(row.payment_intent)!;
    if (list.length <= EMBEDDED_CHARGES) list.push(row);
  }
  return out;
}
