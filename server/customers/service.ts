// CustomerService: create, read, update, delete (detaching payment methods), list.
import { CustomerServiceService, type Customer } from "../../gen/payments/v1/customers";
import type { Address } from "../../gen/payments/v1/common";
import type { CoreDeps } from "../deps";
import { eventScopeOf, fromJson, pageRows, PendingEvents, scopeOf } from "../db/resources";
import { newId } from "../domain/ids";
import { applyMetadata } from "../domain/money";
import { parsePage } from "../domain/pagination";
import { invalidParam, missingParam } from "../errors";
import type { Handlers } from "../methods";
import { customerJson, toCustomer, type CustomerRow } from "./mapper";
import { loadCustomer } from "./store";

const MAX_TEXT = 5000;

function text(value: string | undefined, param: string): string | null | undefined {
  if (value === undefined) return undefined;
  if (value.length > MAX_TEXT) throw invalidParam(param, `${param} can have up to ${MAX_TEXT} characters.`);
  return value === "" ? null : value;
}

function email(value: string | undefined): string | null | undefined {
  const v = text(value, "email");
  if (v && !/^[^\s@]+@[^\s@]+$/.test(v)) throw invalidParam("email", "Invalid email address.");
  return v;
}

function address(value: Address | undefined): string | null | undefined {
  if (value === undefined) return undefined;
  if (value.country !== undefined && value.country !== "" && !/^[A-Z]{2}$/.test(value.country)) {
    throw invalidParam("address[country]", "Country must be a two-letter ISO 3166-1 code, e.g. US.");
  }
  return JSON.stringify(value);
}

/** The CustomerService handlers. */
export function customerHandlers(deps: CoreDeps): Handlers<typeof CustomerServiceService> {
  return {
    async createCustomer(ctx, req) {
      const scope = scopeOf(ctx);
      const row: CustomerRow = {
        seq: 0,
        id: newId("cus"),
        merchant_id: scope.merchantId,
        livemode: scope.livemode,
        email: email(req.email) ?? null,
        name: text(req.name, "name") ?? null,
        phone: text(req.phone, "phone") ?? null,
        description: text(req.description, "description") ?? null,
        address: address(req.address) ?? null,
        metadata: JSON.stringify(applyMetadata(req.metadata)),
        deleted: false,
        created: deps.now(),
      };
      const customer = toCustomer(row);
      await deps.db.transaction(async (trx) => {
        const { seq: _seq, ...insert } = row;
        await trx("customers").insert(insert);
        const events = new PendingEvents();
        events.add("customer.created", customerJson(customer));
        await events.flush(trx, eventScopeOf(ctx));
      });
      return { customer };
    },

    async getCustomer(ctx, req) {
      if (!req.id) throw missingParam("id");
      return { customer: toCustomer(await loadCustomer(deps.db, scopeOf(ctx), req.id)) };
    },

    async updateCustomer(ctx, req) {
      if (!req.id) throw missingParam("id");
      const scope = scopeOf(ctx);
      const changes: Partial<CustomerRow> = {};
      const set = <K extends keyof CustomerRow>(k: K, v: CustomerRow[K] | undefined) => {
        if (v !== undefined) changes[k] = v;
      };
      set("email", email(req.email));
      set("name", text(req.name, "name"));
      set("phone", text(req.phone, "phone"));
      set("description", text(req.description, "description"));
      set("address", address(req.address));
      const customer = await deps.db.transaction(async (trx) => {
        const row = await loadCustomer(trx, scope, req.id);
        if (Object.keys(req.metadata).length > 0) {
          changes.metadata = JSON.stringify(applyMetadata(req.metadata, fromJson(row.metadata, {})));
        }
        const updated = { ...row, ...changes };
        if (Object.keys(changes).length > 0) await trx("customers").where({ id: row.id }).update(changes);
        const customer: Customer = toCustomer(updated);
        const events = new PendingEvents();
        events.add("customer.updated", customerJson(customer));
        await events.flush(trx, eventScopeOf(ctx));
        return customer;
      });
      return { customer };
    },

    async deleteCustomer(ctx, req) {
      if (!req.id) throw missingParam("id");
      const scope = scopeOf(ctx);
      await deps.db.transaction(async (trx) => {
        const row = await loadCustomer(trx, scope, req.id);
        const n = await trx("customers").where({ id: row.id, deleted: false }).update({ deleted: true });
        if (n === 0) return; // deleted concurrently: the other request wrote the event
        await trx("payment_methods")
          .where({ merchant_id: scope.merchantId, livemode: scope.livemode, customer: row.id })
          .update({ customer: null });
        const events = new PendingEvents();
        events.add("customer.deleted", customerJson(toCustomer(row)));
        await events.flush(trx, eventScopeOf(ctx));
      });
      return { id: req.id, object: "customer", deleted: true };
    },

    async listCustomers(ctx, req) {
      const page = parsePage(req);
      const { rows, hasMore } = await pageRows<CustomerRow>(deps.db, "customers", "customer", scopeOf(ctx), page, (q) => {
        q.where({ deleted: false });
        if (req.email) q.where({ email: req.email });
      });
      return { object: "list", data: rows.map(toCustomer), has_more: hasMore, url: "/v1/customers" };
    },
  };
}
