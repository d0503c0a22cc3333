// The transition table: every (status, action) pair is either a legal start
// or payment_intent_unexpected_state naming the current status.
import { describe, expect, it } from "vitest";
import { ApiError } from "../../server/errors";
import {
  assertCanStart,
  captureAmount,
  INTENT_TRANSITIONS,
  statusAfterAttempt,
  transition,
  type IntentAction,
  type IntentStatus,
} from "../../server/domain/payment_intent_state";

const STATUSES: IntentStatus[] = [
  "requires_payment_method",
  "requires_confirmation",
  "requires_action",
  "requires_capture",
  "succeeded",
  "canceled",
];

const LEGAL: Record<IntentAction, IntentStatus[]> = {
  attach_payment_method: ["requires_payment_method", "requires_confirmation"],
  update: ["requires_payment_method", "requires_confirmation"],
  confirm: ["requires_payment_method", "requires_confirmation"],
  authenticate: ["requires_action"],
  capture: ["requires_capture"],
  cancel: ["requires_payment_method", "requires_confirmation", "requires_action", "requires_capture"],
};

describe("payment intent transition table", () => {
  for (const action of Object.keys(LEGAL) as IntentAction[]) {
    for (const status of STATUSES) {
      const legal = LEGAL[action].includes(status);
      it(`${action} from ${status} is ${legal ? "allowed" : "refused"}`, () => {
        if (legal) {
          expect(() => assertCanStart("pi_1", status, action)).not.toThrow();
        } else {
          let err: unknown;
          try {
            assertCanStart("pi_1", status, action);
          } catch (e) {
            err = e;
          }
          expect(err).toBeInstanceOf(ApiError);
          const api = err as ApiError;
          expect(api.type).toBe("invalid_request_error");
          expect(api.fields.code).toBe("payment_intent_unexpected_state");
          expect(api.fields.message).toContain(status);
          expect(api.fields.payment_intent).toBe("pi_1");
        }
      });
    }
  }

  it("refuses an end state the action cannot reach", () => {
    expect(() => transition("pi_1", "requires_capture", "capture", "canceled")).toThrow(ApiError);
    expect(transition("pi_1", "requires_capture", "capture", "succeeded")).toBe("succeeded");
    expect(transition("pi_1", "requires_confirmation", "confirm", "requires_payment_method")).toBe("requires_payment_method");
  });

  it("maps attempt outcomes by capture method", () => {
    expect(statusAfterAttempt("authorized", "automatic")).toBe("succeeded");
    expect(statusAfterAttempt("authorized", "manual")).toBe("requires_capture");
    expect(statusAfterAttempt("requires_action", "automatic")).toBe("requires_action");
    expect(statusAfterAttempt("declined", "manual")).toBe("requires_payment_method");
  });

  it("no action starts from or leads to `processing` (reserved in the proto, unreachable with cards)", () => {
    for (const t of Object.values(INTENT_TRANSITIONS)) expect([...t.from, ...t.to]).not.toContain("processing");
    expect(() => assertCanStart("pi_1", "processing" as IntentStatus, "confirm")).toThrow(ApiError);
  });

  it("every target of the table is a known status", () => {
    for (const t of Object.values(INTENT_TRANSITIONS)) for (const s of [...t.from, ...t.to]) expect(STATUSES).toContain(s);
  });

  it("captures at most amount_capturable", () => {
    expect(captureAmount(undefined, 500)).toBe(500);
    expect(captureAmount(300, 500)).toBe(300);
    expect(captureAmount(500, 500)).toBe(500);
    expect(() => captureAmount(501, 500)).toThrow(/amount_capturable/);
    expect(() => captureAmount(0, 500)).toThrow(ApiError);
  });
});
