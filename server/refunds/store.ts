// Refund queries, scoped by merchant and mode, and the guarded write that
// keeps a charge's refunds within what was captured.
import type { Knex } from "knex";
import { resourceMissing } from "../errors";
import type { Scope } from "../db/resources";
import type { RefundRow } from "./mapper";

/** A refund in scope, or resource_missing. */
export async function loadRefund(db: Knex, scope: Scope, id: string): Promise<RefundRow> {
  const row = (await db("refunds").where({ id, merchant_id: scope.merchantId, livemode: scope.livemode }).first()) as RefundRow | undefined;
  if (!row) throw resourceMissing("refund", id);
  return row;
}

/**
 * Adds `amount` to the charge's refunded total (which also counts a released
 * hold, see capture) only if the total stays within the charge's amount and
 * nobody changed it since it was read (`amount_refunded = seen`). Returns
 * whether the row was updated.
 */
export async function addRefundedAmount(trx: Knex.Transaction, chargeId: string, seen: number, amount: number, chargeAmount: number): Promise<boolean> {
  const total = seen + amount;
  const n = await trx("charges")
    .where({ id: chargeId, amount_refunded: seen, captured: true })
    .andWhere("amount", ">=", total)
    .update({ amount_refunded: total, refunded: total === chargeAmount });
  return n === 1;
}
