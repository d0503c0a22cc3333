// The Envoy config's outer shield: a per-API-key local_ratelimit above the
// core's limits, valid against Envoy's own schema, answering 429 with the
// API's rate-limit error (the same type, code and message as the core's).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { rateLimited } from "../../server/errors";
import { SPEC_LIMITS } from "../../server/ratelimit/config";
import { loadEnvoyApi } from "../gateway/envoy-api";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const config = parse(readFileSync(`${ROOT}gateway/envoy/envoy.yaml`, "utf8"), { merge: true }) as any;
const hcm = config.static_resources.listeners.find((l: any) => l.name === "rest").filter_chains[0].filters[0].typed_config;
const shield = hcm.http_filters.find((f: any) => f.name === "envoy.filters.http.local_ratelimit")?.typed_config;

/** Tokens per minute of a token bucket. */
function perMinute(bucket: { tokens_per_fill: number; fill_interval: string }): number {
  return (bucket.tokens_per_fill * 60) / Number(bucket.fill_interval.replace(/s$/, ""));
}

describe("Envoy's per-API-key shield", () => {
  let envoy: ReturnType<typeof loadEnvoyApi>;
  beforeAll(() => {
    envoy = loadEnvoyApi();
  });

  it("is a LocalRateLimit Envoy's schema accepts, before the transcoder, enabled and enforced for every request", () => {
    const names: string[] = hcm.http_filters.map((f: any) => f.name);
    // Before anything that transcodes or reaches the core (CORS preflights may come first).
    expect(names.indexOf("envoy.filters.http.local_ratelimit")).toBeGreaterThanOrEqual(0);
    expect(names.indexOf("envoy.filters.http.local_ratelimit")).toBeLessThan(names.indexOf("envoy.filters.http.grpc_json_transcoder"));
    expect(names.indexOf("envoy.filters.http.local_ratelimit")).toBeLessThan(names.indexOf("envoy.filters.http.lua"));
    const schema = envoy.getMessage("envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit")!;
    const { "@type": type, ...body } = shield;
    expect(type).toBe("type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit");
    expect(() => fromJson(schema, body as JsonValue, { registry: envoy, ignoreUnknownFields: false })).not.toThrow();
    for (const f of [shield.filter_enabled, shield.filter_enforced]) {
      expect(f.default_value).toEqual({ numerator: 100, denominator: "HUNDRED" });
    }
  });

  it("keys its buckets on the Authorization header, above the core's limits per key", () => {
    const actions = hcm.route_config.virtual_hosts[0].rate_limits.flatMap((r: any) => r.actions);
    expect(actions).toContainEqual({ request_headers: { header_name: "authorization", descriptor_key: "api_key" } });
    const perKey = shield.descriptors.find((d: any) => d.entries.length === 1 && d.entries[0].key === "api_key");
    // No value: a wildcard, one bucket per distinct key.
    expect(perKey.entries[0].value ?? "").toBe("");
    expect(perMinute(perKey.token_bucket)).toBeGreaterThan(SPEC_LIMITS.default + SPEC_LIMITS.payment_creation);
    expect(perMinute(shield.token_bucket)).toBeGreaterThan(perMinute(perKey.token_bucket));
  });

  it("answers 429 with Retry-After and the core's rate-limit error object", () => {
    expect(shield.response_headers_to_add).toContainEqual({ header: { key: "retry-after", value: "60" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" });
    const mapper = hcm.local_reply_config.mappers.find((m: any) => m.filter.status_code_filter?.comparison?.value?.default_value === 429);
    const core = rateLimited().detail();
    expect(mapper.body_format_override.json_format.error).toEqual({
      type: core.type,
      code: core.code,
      message: core.message,
      request_id: "%REQ(X-REQUEST-ID)%",
    });
  });
});
