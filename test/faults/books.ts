// The books, checked straight in the database after a fault: what must hold
// whatever happened to the processes.
import type { Knex } from "knex";
import { expect } from "vitest";

/** What the check found, for the test's own assertions. */
export interface Books {
  intents: number;
  succeeded: number;
  charges: number;
  refunds: number;
  events: number;
}

/**
 * Every succeeded intent has exactly one succeeded charge and received its
 * amount; no charge without its intent; refunds never exceed their charge and
 * match its amount_refunded; every committed object has its event, and every
 * event's object exists.
 */
export async function checkBooks(db: Knex, merchantId: string): Promise<Books> {
  const intents = await db("payment_intents").where({ merchant_id: merchantId });
  const charges = await db("charges").where({ merchant_id: merchantId });
  const refunds = await db("refunds").where({ merchant_id: merchantId });
  const events = await db("events").where({ merchant_id: merchantId });

  const intentById = new Map(intents.map((i) => [i.id, i]));
  const chargesByIntent = new Map<string, any[]>();
  for (const c of charges) {
    expect(intentById.has(c.payment_intent), `charge ${c.id} has no intent ${c.payment_intent}`).toBe(true);
    chargesByIntent.set(c.payment_intent, [...(chargesByIntent.get(c.payment_intent) ?? []), c]);
  }
  for (const pi of intents) {
    const mine = (chargesByIntent.get(pi.id) ?? []).filter((c) => c.status === "succeeded");
    if (pi.status === "succeeded") {
      expect(mine, `succeeded intent ${pi.id} must have exactly one succeeded charge`).toHaveLength(1);
      expect(Number(pi.amount_received)).toBe(Number(mine[0].amount));
      expect(pi.latest_charge).toBe(mine[0].id);
    } else {
      expect(mine, `intent ${pi.id} in ${pi.status} must have no succeeded charge`).toHaveLength(0);
    }
  }
  const refundedByCharge = new Map<string, number>();
  for (const r of refunds) refundedByCharge.set(r.charge, (refundedByCharge.get(r.charge) ?? 0) + Number(r.amount));
  const chargeById = new Map(charges.map((c) => [c.id, c]));
  for (const [chargeId, refunded] of refundedByCharge) {
    const charge = chargeById.get(chargeId);
    expect(charge, `refund of unknown charge ${chargeId}`).toBeDefined();
    expect(refunded, `refunds of ${chargeId}`).toBeLessThanOrEqual(Number(charge.amount));
    expect(Number(charge.amount_refunded), `amount_refunded of ${chargeId}`).toBe(refunded);
  }

  // Events: (type, object id) pairs, and every event's object exists.
  const seen = new Set<string>();
  const exists = new Set([...intents.map((i) => i.id), ...charges.map((c) => c.id), ...refunds.map((r) => r.id)]);
  for (const e of events) {
    const object = JSON.parse(e.data);
    seen.add(`${e.type} ${object.id}`);
    if (/^(payment_intent|charge|refund)\./.test(e.type)) expect(exists.has(object.id), `event ${e.type} of missing ${object.id}`).toBe(true);
  }
  const missing: string[] = [];
  const need = (type: string, id: string) => void (seen.has(`${type} ${id}`) || missing.push(`${type} ${id}`));
  for (const pi of intents) {
    need("payment_intent.created", pi.id);
    if (pi.status === "succeeded") need("payment_intent.succeeded", pi.id);
  }
  for (const c of charges) if (c.status === "succeeded") need("charge.succeeded", c.id);
  for (const r of refunds) need("refund.created", r.id);
  expect(missing, "committed changes without their event").toEqual([]);

  return {
    intents: intents.length,
    succeeded: intents.filter((i) => i.status === "succeeded").length,
    charges: charges.length,
    refunds: refunds.length,
    events: events.length,
  };
}
