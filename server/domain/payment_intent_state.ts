// The PaymentIntent status machine: ONE transition table, used by every RPC
// that changes an intent. Pure: services ask it before they write, and write
// with a guard on the status they read.
import { invalidParam, paymentIntentUnexpectedState } from "../errors";

/**
 * The statuses of a payment intent. The proto also documents `processing`
 * (asynchronous payment methods); nothing here can reach it, since card
 * authorizations answer at once, so it is reserved there and absent here.
 */
export type IntentStatus =
  | "requires_payment_method"
  | "requires_confirmation"
  | "requires_action"
  | "requires_capture"
  | "succeeded"
  | "canceled";

/** The things that move an intent. */
export type IntentAction =
  /** A payment method is set (create/update) on an intent waiting for one. */
  | "attach_payment_method"
  /** Fields other than the payment method change. */
  | "update"
  /** The payment is attempted with the processor. */
  | "confirm"
  /** The customer finished (or failed) 3-D Secure. */
  | "authenticate"
  /** Held funds are captured. */
  | "capture"
  | "cancel";

interface Transition {
  from: readonly IntentStatus[];
  to: readonly IntentStatus[];
  /** The verb used in the error message ("You cannot confirm this PaymentIntent..."). */
  verb: string;
}

/** The transition table: which action may start from which status, and where it may end. */
export const INTENT_TRANSITIONS: Readonly<Record<IntentAction, Transition>> = {
  attach_payment_method: {
    from: ["requires_payment_method", "requires_confirmation"],
    to: ["requires_confirmation"],
    verb: "update the payment method of",
  },
  update: {
    from: ["requires_payment_method", "requires_confirmation"],
    to: ["requires_payment_method", "requires_confirmation"],
    verb: "update",
  },
  confirm: {
    from: ["requires_payment_method", "requires_confirmation"],
    to: ["requires_action", "requires_capture", "succeeded", "requires_payment_method"],
    verb: "confirm",
  },
  authenticate: {
    from: ["requires_action"],
    to: ["requires_capture", "succeeded", "requires_payment_method"],
    verb: "authenticate",
  },
  capture: { from: ["requires_capture"], to: ["succeeded"], verb: "capture" },
  cancel: {
    from: ["requires_payment_method", "requires_confirmation", "requires_action", "requires_capture"],
    to: ["canceled"],
    verb: "cancel",
  },
};

/** Whether `action` may start from `status`. */
export function canStart(status: IntentStatus, action: IntentAction): boolean {
  return INTENT_TRANSITIONS[action].from.includes(status);
}

/** Throws payment_intent_unexpected_state unless `action` may start from `status`. */
export function assertCanStart(intentId: string, status: IntentStatus, action: IntentAction): void {
  if (!canStart(status, action)) throw paymentIntentUnexpectedState(intentId, status, INTENT_TRANSITIONS[action].verb);
}

/**
 * The status after `action` from `status` with the given outcome; throws if
 * the table does not allow the move (a bug in the caller, or a race lost).
 */
export function transition(intentId: string, status: IntentStatus, action: IntentAction, to: IntentStatus): IntentStatus {
  assertCanStart(intentId, status, action);
  if (!INTENT_TRANSITIONS[action].to.includes(to)) throw paymentIntentUnexpectedState(intentId, status, INTENT_TRANSITIONS[action].verb);
  return to;
}

/** What the processor said about an authorization attempt. */
export type AttemptOutcome = "authorized" | "requires_action" | "declined";

/** The status an attempt's outcome leads to, given the intent's capture method. */
export function statusAfterAttempt(outcome: AttemptOutcome, captureMethod: "automatic" | "manual"): IntentStatus {
  switch (outcome) {
    case "authorized":
      return captureMethod === "manual" ? "requires_capture" : "succeeded";
    case "requires_action":
      return "requires_action";
    case "declined":
      return "requires_payment_method";
  }
}

/** The status after a payment method is set (or not) on create/update. */
export function statusWithPaymentMethod(hasPaymentMethod: boolean): IntentStatus {
  return hasPaymentMethod ? "requires_confirmation" : "requires_payment_method";
}

/** Checks `amount_to_capture` against what is capturable; returns the amount to capture. */
export function captureAmount(amountToCapture: number | undefined, amountCapturable: number): number {
  if (amountToCapture === undefined) return amountCapturable;
  if (!Number.isInteger(amountToCapture) || amountToCapture < 1) {
    throw invalidParam("amount_to_capture", "amount_to_capture must be a positive integer.");
  }
  if (amountToCapture > amountCapturable) {
    throw invalidParam(
      "amount_to_capture",
      `amount_to_capture (${amountToCapture}) must be less than or equal to the amount_capturable (${amountCapturable}).`,
    );
  }
  return amountToCapture;
}

const CAPTURE_METHODS = ["automatic", "manual"] as const;

/** Checks `capture_method` / `confirmation_method` values (default automatic). */
export function parseMethod(value: string | undefined, param: string): "automatic" | "manual" {
  if (value === undefined || value === "") return "automatic";
  if (!(CAPTURE_METHODS as readonly string[]).includes(value)) {
    throw invalidParam(param, `Invalid ${param}: must be one of automatic, manual.`);
  }
  return value as "automatic" | "manual";
}

/** Reasons a merchant may give when canceling. */
export const CANCELLATION_REASONS = ["duplicate", "fraudulent", "requested_by_customer", "abandoned"] as const;
