// The Envoy Lua error filter (gateway/envoy/error-body.lua) under LuaJIT:
// its own unit tests with a stand-in handle, and a cross-check that it turns
// every error the core can send into exactly the status and bytes that the
// Node gateway's gateway/errors.ts produces.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { errorBody, fallbackDetail, httpStatusOf } from "../../gateway/errors";
import type { ErrorDetail } from "../../gen/payments/v1/common";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const hasLuajit = spawnSync("luajit", ["-v"]).status === 0;
if (!hasLuajit) console.warn("envoy-lua: no luajit binary; install it with scripts/ci-packages.sh (Debian package luajit)");

describe("error-body.lua", () => {
  it("passes its unit tests under LuaJIT", () => {
    expect(hasLuajit, "luajit is required: run scripts/ci-packages.sh").toBe(true);
    const out = execFileSync("luajit", ["test/gateway/lua/error-body_test.lua"], { cwd: ROOT, encoding: "utf8" });
    expect(out).toMatch(/lua: \d+ passed, 0 failed/);
  });

  it("gives the same status and bytes as gateway/errors.ts for every kind of error", () => {
    expect(hasLuajit, "luajit is required: run scripts/ci-packages.sh").toBe(true);
    const details: [number, ErrorDetail][] = [
      [5, { type: "invalid_request_error", code: "resource_missing", message: "No such payment_intent: 'pi_1'", param: "id", request_id: "req_a" }],
      [3, { type: "invalid_request_error", code: "parameter_missing", message: "Missing required param: amount.", param: "amount", request_id: "req_b" }],
      [9, { type: "card_error", code: "card_declined", message: "Your card was declined.", decline_code: "insufficient_funds", param: "payment_method", request_id: "req_c", payment_intent: "pi_2", charge: "ch_2", payment_method: "pm_2" }],
      [9, { type: "invalid_request_error", code: "payment_intent_unexpected_state", message: "You cannot capture this PaymentIntent because it has a status of succeeded.", payment_intent: "pi_3", request_id: "req_d" }],
      [16, { type: "authentication_error", code: "invalid_api_key", message: "Invalid API key provided.", request_id: "req_e" }],
      [7, { type: "authentication_error", code: "unauthorized", message: "This API call cannot be made with a publishable API key.", request_id: "req_f" }],
      [8, { type: "rate_limit_error", code: "rate_limit", message: "Too many requests hit the API too quickly.", request_id: "req_g" }],
      [10, { type: "idempotency_error", code: "idempotency_key_in_use", message: "There is currently another in-progress request using the idempotency key 'k \"1\"\\'.", request_id: "req_h" }],
      [3, { type: "idempotency_error", code: "idempotency_key_reused", message: "Keys … café ☕ 😀 tab\there\nnewline \u0001", request_id: "req_i" }],
      [12, { type: "api_error", code: "not_implemented", message: "x is not implemented yet." }],
      [13, { type: "api_error", code: "internal_error", message: "An unexpected error occurred.", request_id: "req_k" }],
    ];
    const statuses: [number, string][] = [
      [14, "upstream connect error"],
      [4, "deadline"],
      [2, ""],
    ];
    const lines: string[] = [];
    const expected: string[] = [];
    for (const [code, detail] of details) {
      // The Status as Envoy prints it with our print options: proto names, optional fields only when set.
      const any = { "@type": "type.googleapis.com/payments.v1.ErrorDetail", ...detail };
      lines.push(`req_hdr\t${JSON.stringify({ code, message: detail.message, details: [any] })}`);
      expected.push(`${httpStatusOf(code, detail.type)}\t${errorBody(detail, "req_hdr")}`);
    }
    for (const [code, message] of statuses) {
      lines.push(`req_hdr\t${JSON.stringify({ code, message, details: [] })}`);
      expected.push(`${httpStatusOf(code)}\t${errorBody(fallbackDetail(code, message), "req_hdr")}`);
    }
    const dir = mkdtempSync(join(tmpdir(), "lua-cases-"));
    try {
      writeFileSync(join(dir, "cases.txt"), lines.join("\n") + "\n");
      const out = execFileSync("luajit", ["test/gateway/lua/rewrite_cli.lua", join(dir, "cases.txt")], { cwd: ROOT, encoding: "utf8" });
      expect(out.trimEnd().split("\n")).toEqual(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
