// PaymentMethodService: create from card details (publishable keys too),
// read, list a customer's, attach and detach. The card number and CVC are
// validated and reduced to facts by server/domain/cards.ts, then dropped.
import { PaymentMethodServiceService, type PaymentMethod } from "../../gen/payments/v1/payment_methods";
import type { BillingDetails } from "../../gen/payments/v1/common";
import type { CoreDeps } from "../deps";
import { eventScopeOf, pageRows, PendingEvents, scopeOf } from "../db/resources";
import { inspectCard } from "../domain/cards";
import { newId } from "../domain/ids";
import { applyMetadata } from "../domain/money";
import { parsePage } from "../domain/pagination";
import { invalidParam, missingParam, paymentMethodUnexpectedState } from "../errors";
import type { Handlers } from "../methods";
import { loadCustomer } from "../customers/store";
import { paymentMethodJson, toPaymentMethod, type PaymentMethodRow } from "./mapper";
import { insertPaymentMethod, loadPaymentMethod } from "./store";

function billing(value: BillingDetails | undefined): string | null {
  if (!value) return null;
  for (const k of ["name", "email", "phone"] as const) {
    if ((value[k]?.length ?? 0) > 5000) throw invalidParam(`billing_details[${k}]`, `billing_details[${k}] is too long.`);
  }
  const country = value.address?.country;
  if (country && !/^[A-Z]{2}$/.test(country)) {
    throw invalidParam("billing_details[address][country]", "Country must be a two-letter ISO 3166-1 code, e.g. US.");
  }
  return JSON.stringify(value);
}

/** The PaymentMethodService handlers. */
export function paymentMethodHandlers(deps: CoreDeps): Handlers<typeof PaymentMethodServiceService> {
  return {
    async createPaymentMethod(ctx, req) {
      const scope = scopeOf(ctx);
      if (!req.type) throw missingParam("type");
      if (req.type !== "card") throw invalidParam("type", "Invalid type: only card is supported.");
      const facts = inspectCard(req.card, {
        now: deps.now(),
        livemode: scope.livemode,
        fingerprintSecret: deps.settings.fingerprintSecret,
        merchantId: scope.merchantId,
      });
      const row: Omit<PaymentMethodRow, "seq"> = {
        id: newId("pm"),
        merchant_id: scope.merchantId,
        livemode: scope.livemode,
        type: "card",
        brand: facts.brand,
        last4: facts.last4,
        exp_month: facts.exp_month,
        exp_year: facts.exp_year,
        fingerprint: facts.fingerprint,
        funding: facts.funding,
        country: facts.country,
        test_behavior: facts.testBehavior ?? null,
        billing_details: billing(req.billing_details),
        metadata: JSON.stringify(applyMetadata(req.metadata)),
        customer: null,
        created: deps.now(),
      };
      await insertPaymentMethod(deps.db, row);
      return { payment_method: toPaymentMethod({ seq: 0, ...row }) };
    },

    async getPaymentMethod(ctx, req) {
      if (!req.id) throw missingParam("id");
      return { payment_method: toPaymentMethod(await loadPaymentMethod(deps.db, scopeOf(ctx), req.id)) };
    },

    async listPaymentMethods(ctx, req) {
      if (!req.customer) throw missingParam("customer");
      if (req.type && req.type !== "card") throw invalidParam("type", "Invalid type: only card is supported.");
      const scope = scopeOf(ctx);
      const page = parsePage(req);
      await loadCustomer(deps.db, scope, req.customer, "customer");
      const { rows, hasMore } = await pageRows<PaymentMethodRow>(deps.db, "payment_methods", "payment_method", scope, page, (q) =>
        q.where({ customer: req.customer }),
      );
      return { object: "list", data: rows.map(toPaymentMethod), has_more: hasMore, url: "/v1/payment_methods" };
    },

    async attachPaymentMethod(ctx, req) {
      if (!req.id) throw missingParam("id");
      if (!req.customer) throw missingParam("customer");
      const scope = scopeOf(ctx);
      const pm = await deps.db.transaction(async (trx) => {
        await loadCustomer(trx, scope, req.customer, "customer");
        const row = await loadPaymentMethod(trx, scope, req.id);
        if (row.customer === req.customer) return toPaymentMethod(row);
        // Guarded: only an unattached method can be attached (two racing attaches: one wins).
        const n = await trx("payment_methods").where({ id: row.id, customer: null }).update({ customer: req.customer });
        if (n === 0) {
          throw paymentMethodUnexpectedState(row.id, `The payment method ${row.id} is already attached to another customer. Detach it first.`);
        }
        const pm: PaymentMethod = toPaymentMethod({ ...row, customer: req.customer });
        const events = new PendingEvents();
        events.add("payment_method.attached", paymentMethodJson(pm));
        await events.flush(trx, eventScopeOf(ctx));
        return pm;
      });
      return { payment_method: pm };
    },

    async detachPaymentMethod(ctx, req) {
      if (!req.id) throw missingParam("id");
      const scope = scopeOf(ctx);
      const pm = await deps.db.transaction(async (trx) => {
        const row = await loadPaymentMethod(trx, scope, req.id);
        const n = row.customer ? await trx("payment_methods").where({ id: row.id, customer: row.customer }).update({ customer: null }) : 0;
        if (n === 0) throw paymentMethodUnexpectedState(row.id, `The payment method ${row.id} is not attached to a customer.`);
        const pm = toPaymentMethod({ ...row, customer: null });
        const events = new PendingEvents();
        events.add("payment_method.detached", paymentMethodJson(pm));
        await events.flush(trx, eventScopeOf(ctx));
        return pm;
      });
      return { payment_method: pm };
    },
  };
}
