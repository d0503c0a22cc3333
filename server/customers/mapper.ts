// Customer rows ↔ API messages.
import { Customer } from "../../gen/payments/v1/customers";
import type { Address } from "../../gen/payments/v1/common";
import { bool } from "../db/knex";
import { fromJson } from "../db/resources";
import { toCanonicalJson } from "../json";

/** A row of `customers`. */
export interface CustomerRow {
  seq: number;
  id: string;
  merchant_id: string;
  livemode: boolean | number;
  email: string | null;
  name: string | null;
  phone: string | null;
  description: string | null;
  address: string | null;
  metadata: string;
  deleted: boolean | number;
  created: number;
}

/** The API message of a customer row. */
export function toCustomer(row: CustomerRow): Customer {
  return {
    id: row.id,
    object: "customer",
    created: Number(row.created),
    email: row.email ?? undefined,
    name: row.name ?? undefined,
    phone: row.phone ?? undefined,
    description: row.description ?? undefined,
    address: fromJson<Address | undefined>(row.address, undefined),
    metadata: fromJson(row.metadata, {}),
    livemode: bool(row.livemode),
  };
}

/** A customer as event JSON. */
export function customerJson(c: Customer) {
  return toCanonicalJson("payments.v1.Customer", Customer, c);
}
