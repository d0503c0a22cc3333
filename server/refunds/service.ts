// RefundService: refund a charge (or a payment intent's latest charge) in
// full or in part, many times, never beyond what was captured.
import { RefundServiceService } from "../../gen/payments/v1/refunds";
import type { CoreDeps } from "../deps";
import { bool } from "../db/knex";
import { eventScopeOf, pageRows, PendingEvents, scopeOf } from "../db/resources";
import { newId } from "../domain/ids";
import { applyMetadata, parseAmount } from "../domain/money";
import { parsePage } from "../domain/pagination";
import {
  chargeAlreadyRefunded,
  chargeNotRefundable,
  concurrentUpdate,
  invalidParam,
  missingParam,
  refundAmountTooLarge,
  refundFailed,
} from "../errors";
import type { Handlers } from "../methods";
import { processorFor, defaultProcessors } from "../processor";
import type { Processors } from "../processor/processor";
import { chargeJson, toCharge } from "../charges/mapper";
import { loadCharge } from "../charges/store";
import { loadIntent } from "../payment_intents/store";
import { refundJson, toRefund, type RefundRow } from "./mapper";
import { addRefundedAmount, loadRefund } from "./store";

/** Reasons a merchant may give for a refund. */
export const REFUND_REASONS = ["duplicate", "fraudulent", "requested_by_customer"] as const;

/** The RefundService handlers. */
export function refundHandlers(deps: CoreDeps, processors: Processors = defaultProcessors): Handlers<typeof RefundServiceService> {
  return {
    async createRefund(ctx, req) {
      const scope = scopeOf(ctx);
      if (!req.charge && !req.payment_intent) throw missingParam("charge", "Pass charge or payment_intent to refund.");
      const requested = parseAmount(req.amount, "amount", false);
      const reason = req.reason || undefined;
      if (reason && !(REFUND_REASONS as readonly string[]).includes(reason)) {
        throw invalidParam("reason", `Invalid reason: use one of ${REFUND_REASONS.join(", ")}.`);
      }
      const metadata = applyMetadata(req.metadata);
      const events = new PendingEvents();
      const refund = await deps.db.transaction(async (trx) => {
        let chargeId = req.charge;
        if (!chargeId) {
          const intent = await loadIntent(trx, scope, req.payment_intent!, false, "payment_intent");
          if (!intent.latest_charge) throw chargeNotRefundable(intent.id, "this PaymentIntent has no charge");
          chargeId = intent.latest_charge;
        }
        // Row-locked on PostgreSQL (SQLite has one writer): concurrent refunds of one charge queue here.
        const charge = await loadCharge(trx, scope, chargeId, req.charge ? "charge" : "payment_intent", true);
        if (req.charge && req.payment_intent && charge.payment_intent !== req.payment_intent) {
          throw invalidParam("payment_intent", `Charge ${charge.id} does not belong to PaymentIntent ${req.payment_intent}.`);
        }
        if (charge.status !== "succeeded") throw chargeNotRefundable(charge.id, `its status is ${charge.status}`);
        if (!bool(charge.captured)) {
          throw chargeNotRefundable(charge.id, bool(charge.refunded) ? "its authorization was released" : "it has not been captured; cancel its PaymentIntent instead");
        }
        // amount_refunded also counts the hold a partial capture released, so
        // what remains refundable is amount − amount_refunded (= captured − refunds).
        const total = Number(charge.amount);
        const seen = Number(charge.amount_refunded);
        const remaining = total - seen;
        if (remaining <= 0) throw chargeAlreadyRefunded(charge.id);
        const amount = requested ?? remaining;
        if (amount > remaining) throw refundAmountTooLarge(amount, remaining, charge.id);
        if (!(await addRefundedAmount(trx, charge.id, seen, amount, total))) throw concurrentUpdate("charge", charge.id);
        const row: RefundRow = {
          seq: 0,
          id: newId("re"),
          merchant_id: scope.merchantId,
          livemode: scope.livemode,
          charge: charge.id,
          payment_intent: charge.payment_intent,
          amount,
          currency: charge.currency,
          reason: reason ?? null,
          status: "succeeded",
          metadata: JSON.stringify(metadata),
          created: deps.now(),
        };
        const done = await processorFor(processors, scope.livemode).refund({ chargeId: charge.id, refundId: row.id, amount, currency: charge.currency });
        // A processor refusal rolls back the refunded total with everything else.
        if (!done.ok) throw refundFailed(charge.id, done.message);
        const { seq: _seq, ...insert } = row;
        await trx("refunds").insert(insert);
        const refund = toRefund(row);
        const chargeAfter = toCharge({ ...charge, amount_refunded: seen + amount, refunded: seen + amount === total }, deps.settings.publicBaseUrl);
        events.add("refund.created", refundJson(refund));
        events.add("charge.refunded", chargeJson(chargeAfter));
        await events.flush(trx, eventScopeOf(ctx));
        return refund;
      });
      return { refund };
    },

    async getRefund(ctx, req) {
      if (!req.id) throw missingParam("id");
      return { refund: toRefund(await loadRefund(deps.db, scopeOf(ctx), req.id)) };
    },

    async listRefunds(ctx, req) {
      const page = parsePage(req);
      const { rows, hasMore } = await pageRows<RefundRow>(deps.db, "refunds", "refund", scopeOf(ctx), page, (q) => {
        if (req.charge) q.where({ charge: req.charge });
        if (req.payment_intent) q.where({ payment_intent: req.payment_intent });
      });
      return { object: "list", data: rows.map(toRefund), has_more: hasMore, url: "/v1/refunds" };
    },
  };
}
