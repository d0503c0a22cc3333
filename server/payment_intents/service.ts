// PaymentIntentService. Each state change follows the same stages: check the
// request, load the intent (row-locked) in one transaction, ask the
// transition table, call the processor, write the intent, its charge and its
// events (outbox) guarded on the version read, commit, answer.
import type { Knex } from "knex";
import { PaymentIntentServiceService, type PaymentIntent } from "../../gen/payments/v1/payment_intents";
import type { ErrorDetail } from "../../gen/payments/v1/common";
import type { ChargePaymentMethod } from "../../gen/payments/v1/charges";
import type { CoreDeps } from "../deps";
import { bool } from "../db/knex";
import { eventScopeOf, pageRows, PendingEvents, scopeOf, type Scope } from "../db/resources";
import { clientSecretMatches, newId } from "../domain/ids";
import { applyMetadata, parseAmount, parseCurrency } from "../domain/money";
import { parsePage } from "../domain/pagination";
import {
  assertCanStart,
  CANCELLATION_REASONS,
  captureAmount,
  INTENT_TRANSITIONS,
  parseMethod,
  statusAfterAttempt,
  statusWithPaymentMethod,
  transition,
  type IntentAction,
} from "../domain/payment_intent_state";
import {
  ApiError,
  authorizationReleaseFailed,
  cardError,
  chargeMissing,
  concurrentUpdate,
  invalidParam,
  missingParam,
  resourceMissing,
  testModeOnly,
  unauthorized,
} from "../errors";
import type { Handlers } from "../methods";
import { recordPaymentOutcome } from "../observability/metrics";
import type { AuthedContext } from "../pipeline/types";
import { processorFor, defaultProcessors } from "../processor";
import type { Processors } from "../processor/processor";
import { chargeJson, toCharge, type ChargeRow } from "../charges/mapper";
import { chargesOfIntents, insertCharge } from "../charges/store";
import { loadCustomer } from "../customers/store";
import { cardOf, type PaymentMethodRow } from "../payment_methods/mapper";
import { loadPaymentMethod } from "../payment_methods/store";
import { forPublishableKey, paymentIntentJson, toPaymentIntent, type IntentRow } from "./mapper";
import { insertIntent, loadIntent, loadIntentForAttempt, loadIntentWithCharges, updateIntent } from "./store";

const PAYMENT_METHOD_TYPES = new Set(["card", "apple_pay", "google_pay"]);

function paymentMethodTypes(value: string[], param = "payment_method_types"): string[] {
  for (const t of value) {
    if (!PAYMENT_METHOD_TYPES.has(t)) throw invalidParam(param, `Invalid payment method type: ${t}. Use card, apple_pay or google_pay.`);
  }
  return [...new Set(value)];
}

function description(value: string | undefined): string | null | undefined {
  if (value === undefined) return undefined;
  if (value.length > 1000) throw invalidParam("description", "description can have up to 1000 characters.");
  return value === "" ? null : value;
}

function returnUrl(value: string | undefined): string | undefined {
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidParam("return_url", "return_url must be an absolute http(s) URL.");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw invalidParam("return_url", "return_url must be an absolute http(s) URL.");
  return value;
}

/** What one payment attempt left to do after its transaction committed. */
interface AttemptResult {
  row: IntentRow;
  charges: ChargeRow[];
  /** A card error to return once the declined attempt is committed. */
  decline?: ApiError;
}

/** The PaymentIntentService handlers; `processors` defaults to the test-card simulator (and no live processor). */
export function paymentIntentHandlers(deps: CoreDeps, processors: Processors = defaultProcessors): Handlers<typeof PaymentIntentServiceService> {
  const settings = deps.settings;
  /** The intent as this caller may see it: publishable keys (the browser) get the reduced view. */
  const message = (ctx: AuthedContext, row: IntentRow, charges: ChargeRow[]) => {
    const full = toPaymentIntent(row, charges, settings);
    return ctx.caller.keyType === "publishable" ? forPublishableKey(full) : full;
  };

  /** Publishable keys reach an intent only through its client secret; a wrong secret looks like a missing intent. */
  function checkClientSecret(ctx: AuthedContext, id: string, presented: string | undefined): void {
    if (ctx.caller.keyType !== "publishable") return;
    if (!presented) throw unauthorized("A publishable API key can only access a PaymentIntent with its client_secret.");
    if (!clientSecretMatches(id, presented, settings.fingerprintSecret)) throw resourceMissing("payment_intent", id);
  }

  /** The existing charges of an intent (none if it never had one: no query). */
  async function chargesOf(db: Knex | Knex.Transaction, row: IntentRow): Promise<ChargeRow[]> {
    if (!row.latest_charge) return [];
    return (await chargesOfIntents(db, [row.id])).get(row.id) ?? [];
  }

  /** The payment method to attempt with, checked against the intent's customer. */
  async function paymentMethodFor(trx: Knex.Transaction, scope: Scope, row: IntentRow, id: string | undefined): Promise<PaymentMethodRow> {
    const pmId = id || row.payment_method;
    if (!pmId) throw noPaymentMethod();
    return checkPaymentMethod(row, await loadPaymentMethod(trx, scope, pmId, "payment_method"));
  }

  function noPaymentMethod() {
    return missingParam("payment_method", "You cannot confirm this PaymentIntent because it has no payment method. Pass payment_method.");
  }

  /** The payment method loaded with the intent (loadIntentForAttempt) for `id` (else the intent's own), checked like paymentMethodFor. */
  function joinedPaymentMethod(row: IntentRow, id: string | undefined, pm: PaymentMethodRow | undefined): PaymentMethodRow {
    const pmId = id || row.payment_method;
    if (!pmId) throw noPaymentMethod();
    if (!pm) throw resourceMissing("payment_method", pmId, "payment_method");
    return checkPaymentMethod(row, pm);
  }

  /** A customer's saved card pays only that customer's intents. */
  function checkPaymentMethod(row: IntentRow, pm: PaymentMethodRow): PaymentMethodRow {
    // A customer's saved card pays only that customer's intents (never a guest's or another customer's).
    if (pm.customer && pm.customer !== row.customer_id) {
      throw invalidParam(
        "payment_method",
        row.customer_id
          ? `The payment method ${pm.id} belongs to another customer than this PaymentIntent's.`
          : `The payment method ${pm.id} is attached to a customer: use it on a PaymentIntent with that customer_id.`,
      );
    }
    return pm;
  }

  /**
   * One payment attempt (confirm, or the end of 3-D Secure) inside `trx`:
   * asks the processor, then writes the intent (guarded on its version), the
   * charge and the events. `stored` false: the intent is being created in
   * this transaction (create with confirm: true) and is inserted once, in
   * its state after the attempt, instead of inserted and then updated.
   */
  async function attempt(
    trx: Knex.Transaction,
    ctx: AuthedContext,
    row: IntentRow,
    charges: ChargeRow[],
    pm: PaymentMethodRow,
    action: Extract<IntentAction, "confirm" | "authenticate">,
    extra: Partial<IntentRow>,
    events: PendingEvents,
    stored = true,
  ): Promise<AttemptResult> {
    const save = async (changes: Partial<IntentRow>, verb: string): Promise<IntentRow> => {
      if (stored) return updateIntent(trx, row, changes, verb);
      const next: IntentRow = { ...row, ...changes, version: Number(row.version) + 1 };
      const { seq: _seq, ...insert } = next;
      await insertIntent(trx, insert);
      return next;
    };
    assertCanStart(row.id, row.status, action);
    const processor = processorFor(processors, ctx.caller.livemode);
    const result = await processor.authorize({
      merchantId: row.merchant_id,
      paymentIntentId: row.id,
      amount: Number(row.amount),
      currency: row.currency,
      card: { paymentMethodId: pm.id, brand: pm.brand, last4: pm.last4, testBehavior: pm.test_behavior ?? undefined },
      authenticated: action === "authenticate",
    });
    const status = transition(row.id, row.status, action, statusAfterAttempt(result.outcome, row.capture_method));
    const verb = INTENT_TRANSITIONS[action].verb;
    const now = deps.now();

    if (result.outcome === "requires_action") {
      const next = await save({ ...extra, status, payment_method: pm.id, last_payment_error: null }, verb);
      events.add("payment_intent.requires_action", paymentIntentJson(next, charges, settings));
      return { row: next, charges };
    }

    const chargePm: ChargePaymentMethod = { id: pm.id, type: pm.type, card: cardOf(pm) };
    const automatic = row.capture_method === "automatic";
    const declined = result.outcome === "declined" ? result.decline : undefined;
    const charge: ChargeRow = {
      seq: 0,
      id: newId("ch"),
      merchant_id: row.merchant_id,
      livemode: row.livemode,
      payment_intent: row.id,
      amount: Number(row.amount),
      amount_captured: !declined && automatic ? Number(row.amount) : 0,
      amount_refunded: 0,
      currency: row.currency,
      status: declined ? "failed" : "succeeded",
      captured: !declined && automatic,
      refunded: false,
      disputed: result.outcome === "authorized" && !!result.disputed,
      payment_method: JSON.stringify(chargePm),
      failure_code: declined?.code ?? null,
      failure_message: declined?.message ?? null,
      decline_code: declined?.declineCode ?? null,
      customer: row.customer_id,
      description: row.description,
      created: now,
    };
    const { seq: _seq, ...insert } = charge;
    await insertCharge(trx, insert);
    const allCharges = [charge, ...charges];
    const chargeMsg = toCharge(charge, settings.publicBaseUrl);

    if (declined) {
      const error: ErrorDetail = {
        type: "card_error",
        code: declined.code,
        message: declined.message,
        decline_code: declined.declineCode,
        payment_intent: row.id,
        charge: charge.id,
        payment_method: pm.id,
      };
      const next = await save({ ...extra, status, payment_method: null, last_payment_error: JSON.stringify(error), latest_charge: charge.id }, verb);
      events.add("charge.failed", chargeJson(chargeMsg));
      events.add("payment_intent.payment_failed", paymentIntentJson(next, allCharges, settings));
      const { type: _t, request_id: _r, ...fields } = error;
      return { row: next, charges: allCharges, decline: cardError(fields) };
    }

    const next = await save(
      {
        ...extra,
        status,
        payment_method: pm.id,
        last_payment_error: null,
        latest_charge: charge.id,
        amount_received: automatic ? Number(row.amount) : 0,
        amount_capturable: automatic ? 0 : Number(row.amount),
      },
      verb,
    );
    const intentJson = paymentIntentJson(next, allCharges, settings);
    events.add("charge.succeeded", chargeJson(chargeMsg));
    events.add(automatic ? "payment_intent.succeeded" : "payment_intent.amount_capturable_updated", intentJson);
    if (charge.disputed) {
      // The simulator's dispute card: the cardholder disputes the payment at once.
      events.add("charge.dispute.created", {
        id: newId("dp"),
        object: "dispute",
        amount: Number(charge.amount),
        charge: charge.id,
        currency: charge.currency,
        payment_intent: row.id,
        reason: "fraudulent",
        status: "needs_response",
        created: now,
        livemode: !!ctx.caller.livemode,
      });
    }
    return { row: next, charges: allCharges };
  }

  /**
   * Cancel of a `requires_capture` intent: the processor voids the hold, and
   * the charge records the released amount the way Stripe does (`refunded`
   * true, `amount_refunded` = the uncaptured amount; status unchanged), with
   * `charge.refunded`. Returns the intent's charges as they now are.
   */
  async function releaseAuthorization(trx: Knex.Transaction, row: IntentRow, charges: ChargeRow[], events: PendingEvents): Promise<ChargeRow[]> {
    const chargeRow = charges.find((c) => c.id === row.latest_charge);
    if (!chargeRow) throw chargeMissing(row.id);
    const amount = Number(chargeRow.amount) - Number(chargeRow.amount_captured);
    const done = await processorFor(processors, bool(row.livemode)).cancel({ chargeId: chargeRow.id, amount, currency: chargeRow.currency });
    if (!done.ok) throw authorizationReleaseFailed(row.id, chargeRow.id, done.message);
    const change = { refunded: true, amount_refunded: amount };
    // Guarded like every write: only an uncaptured, unreleased charge is released.
    const n = await trx("charges").where({ id: chargeRow.id, captured: false, amount_refunded: 0 }).update(change);
    if (n !== 1) throw concurrentUpdate("charge", chargeRow.id);
    const updated: ChargeRow = { ...chargeRow, ...change };
    events.add("charge.refunded", chargeJson(toCharge(updated, settings.publicBaseUrl)));
    return charges.map((c) => (c.id === updated.id ? updated : c));
  }

  /** Commits an attempt, then answers with the intent or its card error. */
  function answer(ctx: AuthedContext, result: AttemptResult): { payment_intent: PaymentIntent } {
    // Committed attempts only (create without confirm is not one); ops metric.
    if (result.decline || ["succeeded", "requires_capture", "requires_action"].includes(result.row.status)) recordPaymentOutcome(result.row.status, result.decline?.fields.decline_code);
    if (result.decline) throw result.decline;
    return { payment_intent: message(ctx, result.row, result.charges) };
  }

  return {
    async createPaymentIntent(ctx, req) {
      const scope = scopeOf(ctx);
      // proto3: an int32 left out arrives as 0, so 0 reads as "missing".
      const amount = parseAmount(req.amount || undefined)!;
      const currency = parseCurrency(req.currency);
      const types = paymentMethodTypes(req.payment_method_types.length ? req.payment_method_types : ["card"]);
      const captureMethod = parseMethod(req.capture_method, "capture_method");
      const confirmationMethod = parseMethod(req.confirmation_method, "confirmation_method");
      const metadata = applyMetadata(req.metadata);
      const desc = description(req.description) ?? null;
      const back = returnUrl(req.return_url);
      if (req.confirm && !req.payment_method) throw missingParam("payment_method", "payment_method is required when confirm is true.");
      if (back && !req.confirm) throw invalidParam("return_url", "return_url can only be given with confirm: true.");
      // Live mode has no processor: refuse before creating anything.
      if (req.confirm) processorFor(processors, scope.livemode);
      const events = new PendingEvents();
      const result = await deps.db.transaction(async (trx) => {
        if (req.customer_id) await loadCustomer(trx, scope, req.customer_id, "customer_id");
        const row: IntentRow = {
          seq: 0,
          id: newId("pi"),
          merchant_id: scope.merchantId,
          livemode: scope.livemode,
          amount,
          currency,
          status: statusWithPaymentMethod(!!req.payment_method),
          version: 0,
          description: desc,
          metadata: JSON.stringify(metadata),
          payment_method_types: JSON.stringify(types),
          capture_method: captureMethod,
          confirmation_method: confirmationMethod,
          customer_id: req.customer_id || null,
          payment_method: null,
          amount_received: 0,
          amount_capturable: 0,
          last_payment_error: null,
          return_url: null,
          cancellation_reason: null,
          canceled_at: null,
          latest_charge: null,
          created: deps.now(),
        };
        const pm = req.payment_method ? await paymentMethodFor(trx, scope, row, req.payment_method) : undefined;
        row.payment_method = pm?.id ?? null;
        events.add("payment_intent.created", paymentIntentJson(row, [], settings));
        let out: AttemptResult = { row, charges: [] };
        if (req.confirm && pm) {
          out = await attempt(trx, ctx, row, [], pm, "confirm", { return_url: back ?? null }, events, false);
        } else {
          const { seq: _seq, ...insert } = row;
          await insertIntent(trx, insert);
        }
        await events.flush(trx, eventScopeOf(ctx));
        return out;
      });
      return answer(ctx, result);
    },

    async getPaymentIntent(ctx, req) {
      if (!req.id) throw missingParam("id");
      checkClientSecret(ctx, req.id, req.client_secret);
      const { row, charges } = await loadIntentWithCharges(deps.db, scopeOf(ctx), req.id);
      return { payment_intent: message(ctx, row, charges) };
    },

    async updatePaymentIntent(ctx, req) {
      if (!req.id) throw missingParam("id");
      const scope = scopeOf(ctx);
      const changes: Partial<IntentRow> = {};
      if (req.amount !== undefined) changes.amount = parseAmount(req.amount);
      if (req.currency !== undefined) changes.currency = parseCurrency(req.currency);
      if (req.payment_method_types.length) changes.payment_method_types = JSON.stringify(paymentMethodTypes(req.payment_method_types));
      if (req.description !== undefined) changes.description = description(req.description);
      if (req.capture_method !== undefined) changes.capture_method = parseMethod(req.capture_method, "capture_method");
      const result = await deps.db.transaction(async (trx) => {
        const row = await loadIntent(trx, scope, req.id, true);
        const action: IntentAction = req.payment_method ? "attach_payment_method" : "update";
        assertCanStart(row.id, row.status, action);
        if (req.customer_id !== undefined) {
          if (req.customer_id) await loadCustomer(trx, scope, req.customer_id, "customer_id");
          changes.customer_id = req.customer_id || null;
        }
        if (Object.keys(req.metadata).length) changes.metadata = JSON.stringify(applyMetadata(req.metadata, JSON.parse(row.metadata)));
        if (req.payment_method) {
          const pm = await paymentMethodFor(trx, scope, { ...row, ...changes }, req.payment_method);
          changes.payment_method = pm.id;
          changes.status = transition(row.id, row.status, action, "requires_confirmation");
        }
        const next = await updateIntent(trx, row, changes, INTENT_TRANSITIONS[action].verb);
        return { row: next, charges: await chargesOf(trx, next) };
      });
      return { payment_intent: message(ctx, result.row, result.charges) };
    },

    async confirmPaymentIntent(ctx, req) {
      if (!req.id) throw missingParam("id");
      checkClientSecret(ctx, req.id, req.client_secret);
      const scope = scopeOf(ctx);
      const back = returnUrl(req.return_url);
      const events = new PendingEvents();
      const result = await deps.db.transaction(async (trx) => {
        const { row, pm: joined } = await loadIntentForAttempt(trx, scope, req.id, req.payment_method || undefined);
        if (ctx.caller.keyType === "publishable" && row.confirmation_method === "manual") {
          throw unauthorized("This PaymentIntent has confirmation_method manual: confirm it with a secret key.");
        }
        assertCanStart(row.id, row.status, "confirm");
        const pm = joinedPaymentMethod(row, req.payment_method, joined);
        const out = await attempt(trx, ctx, row, await chargesOf(trx, row), pm, "confirm", { return_url: back ?? null }, events);
        await events.flush(trx, eventScopeOf(ctx));
        return out;
      });
      return answer(ctx, result);
    },

    async authenticatePaymentIntent(ctx, req) {
      if (!req.id) throw missingParam("id");
      checkClientSecret(ctx, req.id, req.client_secret);
      const outcome = req.outcome || "succeed";
      if (outcome !== "succeed" && outcome !== "fail") throw invalidParam("outcome", "Invalid outcome: use succeed or fail.");
      const scope = scopeOf(ctx);
      if (scope.livemode) {
        throw testModeOnly("Authentication through this endpoint is only available in test mode; in live mode the card issuer authenticates.");
      }
      const events = new PendingEvents();
      const result = await deps.db.transaction(async (trx) => {
        const { row, pm: joined } = await loadIntentForAttempt(trx, scope, req.id, undefined);
        assertCanStart(row.id, row.status, "authenticate");
        const charges = await chargesOf(trx, row);
        let out: AttemptResult;
        if (outcome === "fail") {
          const error: ErrorDetail = {
            type: "card_error",
            code: "payment_intent_authentication_failure",
            message: "The provided payment method has failed authentication. Provide a new payment method to attempt this payment again.",
            payment_intent: row.id,
            payment_method: row.payment_method ?? undefined,
          };
          const status = transition(row.id, row.status, "authenticate", "requires_payment_method");
          const next = await updateIntent(
            trx,
            row,
            { status, payment_method: null, last_payment_error: JSON.stringify(error) },
            INTENT_TRANSITIONS.authenticate.verb,
          );
          events.add("payment_intent.payment_failed", paymentIntentJson(next, charges, settings));
          out = { row: next, charges };
        } else {
          const pm = joinedPaymentMethod(row, undefined, joined);
          out = await attempt(trx, ctx, row, charges, pm, "authenticate", {}, events);
        }
        await events.flush(trx, eventScopeOf(ctx));
        return out;
      });
      return answer(ctx, result);
    },

    async capturePaymentIntent(ctx, req) {
      if (!req.id) throw missingParam("id");
      const scope = scopeOf(ctx);
      const events = new PendingEvents();
      const result = await deps.db.transaction(async (trx) => {
        const row = await loadIntent(trx, scope, req.id, true);
        assertCanStart(row.id, row.status, "capture");
        const amount = captureAmount(req.amount_to_capture, Number(row.amount_capturable));
        const status = transition(row.id, row.status, "capture", "succeeded");
        const processor = processorFor(processors, scope.livemode);
        const charges = await chargesOf(trx, row);
        const chargeRow = charges.find((c) => c.id === row.latest_charge);
        if (!chargeRow) throw chargeMissing(row.id);
        const captured = await processor.capture({ chargeId: chargeRow.id, amount, currency: row.currency });
        if (!captured.ok) {
          throw cardError({ code: captured.decline.code, message: captured.decline.message, decline_code: captured.decline.declineCode, payment_intent: row.id, charge: chargeRow.id });
        }
        const next = await updateIntent(trx, row, { status, amount_received: amount, amount_capturable: 0 }, INTENT_TRANSITIONS.capture.verb);
        // A partial capture releases the rest of the hold; as Stripe does, the
        // charge records the released part as refunded (amount_refunded), so
        // what can still be refunded is amount − amount_refunded = what was captured.
        const released = Number(chargeRow.amount) - amount;
        const change = { captured: true, amount_captured: amount, amount_refunded: released };
        const updated: ChargeRow = { ...chargeRow, ...change };
        await trx("charges").where({ id: chargeRow.id, captured: false }).update(change);
        const all = charges.map((c) => (c.id === updated.id ? updated : c));
        const updatedJson = chargeJson(toCharge(updated, settings.publicBaseUrl));
        events.add("charge.captured", updatedJson);
        if (released > 0) events.add("charge.refunded", updatedJson);
        events.add("payment_intent.succeeded", paymentIntentJson(next, all, settings));
        await events.flush(trx, eventScopeOf(ctx));
        return { row: next, charges: all };
      });
      return { payment_intent: message(ctx, result.row, result.charges) };
    },

    async cancelPaymentIntent(ctx, req) {
      if (!req.id) throw missingParam("id");
      const reason = req.cancellation_reason || undefined;
      if (reason && !(CANCELLATION_REASONS as readonly string[]).includes(reason)) {
        throw invalidParam("cancellation_reason", `Invalid cancellation_reason: use one of ${CANCELLATION_REASONS.join(", ")}.`);
      }
      const scope = scopeOf(ctx);
      const events = new PendingEvents();
      const result = await deps.db.transaction(async (trx) => {
        const row = await loadIntent(trx, scope, req.id, true);
        const status = transition(row.id, row.status, "cancel", "canceled");
        let charges = await chargesOf(trx, row);
        if (row.status === "requires_capture") charges = await releaseAuthorization(trx, row, charges, events);
        const next = await updateIntent(
          trx,
          row,
          { status, cancellation_reason: reason ?? null, canceled_at: deps.now(), amount_capturable: 0 },
          INTENT_TRANSITIONS.cancel.verb,
        );
        events.add("payment_intent.canceled", paymentIntentJson(next, charges, settings));
        await events.flush(trx, eventScopeOf(ctx));
        return { row: next, charges };
      });
      return { payment_intent: message(ctx, result.row, result.charges) };
    },

    async listPaymentIntents(ctx, req) {
      const page = parsePage(req);
      const scope = scopeOf(ctx);
      const { rows, hasMore } = await pageRows<IntentRow>(deps.db, "payment_intents", "payment_intent", scope, page, (q) => {
        if (req.customer) q.where({ customer_id: req.customer });
      });
      // One query for the charges of the whole page (only intents that ever had one).
      const charged = rows.filter((r) => r.latest_charge).map((r) => r.id);
      const charges = await chargesOfIntents(deps.db, charged);
      return {
        object: "list",
        data: rows.map((r) => message(ctx, r, charges.get(r.id) ?? [])),
        has_more: hasMore,
        url: "/v1/payment_intents",
      };
    },
  };
}
