// The one query a receipt needs: the charge and its merchant's name, by
// charge id alone (the unguessable id is the capability; see receipts.proto).
import type { Knex } from "knex";
import type { ChargeRow } from "../charges/mapper";

/** The charge `id` with its merchant's name, or undefined. */
export async function loadReceipt(db: Knex, id: string): Promise<(ChargeRow & { merchant_name: string | null }) | undefined> {
  return (await db("charges")
    .leftJoin("merchants", "merchants.id", "charges.merchant_id")
    .select("charges.*", "merchants.name as merchant_name")
    .where("charges.id", id)
    .first()) as (ChargeRow & { merchant_name: string | null }) | undefined;
}
