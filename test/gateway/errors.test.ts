// gateway/errors.ts: the one gRPC → HTTP status table, 402 for card errors,
// and the error body printed in ErrorDetail's proto order.
import { describe, expect, it } from "vitest";
import { decodeStatusDetails, errorBody, httpStatusOf } from "../../gateway/errors";
import { encodeStatusDetails } from "../../server/errors";

describe("httpStatusOf", () => {
  it.each([
    [0, 200], [1, 499], [2, 500], [3, 400], [4, 504], [5, 404], [6, 409], [7, 403], [8, 429],
    [9, 400], [10, 409], [11, 400], [12, 501], [13, 500], [14, 503], [15, 500], [16, 401], [99, 500],
  ])("gRPC %i → HTTP %i", (code, status) => {
    expect(httpStatusOf(code, "invalid_request_error")).toBe(status);
  });

  it("makes every card_error 402, whatever its gRPC code", () => {
    expect(httpStatusOf(9, "card_error")).toBe(402);
    expect(httpStatusOf(3, "card_error")).toBe(402);
  });
});

describe("errorBody", () => {
  it("prints the spec's error object in field order, optional fields only when set", () => {
    expect(errorBody({ type: "card_error", code: "card_declined", message: "Your card was declined.", decline_code: "insufficient_funds", param: "payment_method" }, "req_1234567890abcdef")).toBe(
      '{"error":{"type":"card_error","code":"card_declined","message":"Your card was declined.","decline_code":"insufficient_funds","param":"payment_method","request_id":"req_1234567890abcdef"}}',
    );
    expect(errorBody({ type: "api_error", code: "x", message: "m", request_id: "req_core" }, "req_other")).toBe(
      '{"error":{"type":"api_error","code":"x","message":"m","request_id":"req_core"}}',
    );
  });

  it("reads the ErrorDetail back out of google.rpc.Status bytes", () => {
    const detail = { type: "invalid_request_error", code: "resource_missing", message: "No such charge", param: "id", request_id: "req_1", charge: "ch_1" };
    expect(decodeStatusDetails(encodeStatusDetails(5, detail.message, detail))).toMatchObject(detail);
    expect(decodeStatusDetails(new Uint8Array([0xff, 0xff]))).toBeUndefined();
  });
});
