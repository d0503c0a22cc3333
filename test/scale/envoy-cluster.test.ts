// gateway/envoy/envoy-cluster.yaml (the production example: Envoy in front of
// several cores) against Envoy's own schema, with the same offline validator
// as envoy.yaml (test/gateway/envoy-api.ts), and the cluster policy it must
// keep: round-robin over HTTP/2, grpc.health.v1 health checks, and retries
// only on read calls or calls carrying an Idempotency-Key.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { fromJson, type FileRegistry, type JsonValue } from "@bufbuild/protobuf";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { METHODS } from "../../server/methods";
import { loadEnvoyApi } from "../gateway/envoy-api";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TEXT = readFileSync(`${ROOT}gateway/envoy/envoy-cluster.yaml`, "utf8");
const config = () => parse(TEXT, { merge: true }) as any;

let envoy: FileRegistry;
beforeAll(() => {
  envoy = loadEnvoyApi();
});

function validate(yamlText: string): void {
  const json = JSON.parse(JSON.stringify(parse(yamlText, { merge: true }))) as JsonValue;
  fromJson(envoy.getMessage("envoy.config.bootstrap.v3.Bootstrap")!, json, { registry: envoy, ignoreUnknownFields: false });
}

const listener = (name: string) => config().static_resources.listeners.find((l: any) => l.name === name);
const routesOf = (name: string) => listener(name).filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes as any[];

/** The route Envoy picks for a gRPC path (first match, as Envoy does), with or without an idempotency key. */
function routeFor(routes: any[], path: string, idempotencyKey: boolean): any {
  return routes.find((r) => {
    const m = r.match;
    if (m.headers?.some((h: any) => h.name === "idempotency-key" && h.present_match) && !idempotencyKey) return false;
    if (m.prefix !== undefined) return path.startsWith(m.prefix);
    if (m.safe_regex) return new RegExp(m.safe_regex.regex).test(path);
    return false;
  });
}

describe("envoy-cluster.yaml", () => {
  it("is a valid Bootstrap under Envoy's schema", () => {
    expect(() => validate(TEXT)).not.toThrow();
  });

  it("fails the same validation when broken (unknown field, bad enum, bad duration)", () => {
    expect(() => validate(TEXT.replace("lb_policy: ROUND_ROBIN", "lb_policy: ROUND_ROBIN\n      lb_polcy: RANDOM"))).toThrow();
    expect(() => validate(TEXT.replace("lb_policy: ROUND_ROBIN", "lb_policy: ROUND_ROBINS"))).toThrow();
    expect(() => validate(TEXT.replace("interval: 2s", "interval: two seconds"))).toThrow();
  });

  it("balances round-robin over HTTP/2 across several cores, health-checked by grpc.health.v1", () => {
    const core = config().static_resources.clusters.find((c: any) => c.name === "core");
    expect(core.lb_policy).toBe("ROUND_ROBIN");
    expect(core.typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].explicit_http_config.http2_protocol_options).toBeDefined();
    expect(core.load_assignment.endpoints[0].lb_endpoints.length).toBeGreaterThanOrEqual(2);
    expect(core.health_checks[0].grpc_health_check).toEqual({ service_name: "" });
    expect(core.outlier_detection).toBeDefined();
  });

  it("retries reads and idempotency-keyed calls only, on both listeners", () => {
    for (const name of ["rest", "grpc"]) {
      const routes = routesOf(name);
      for (const method of METHODS.values()) {
        const plain = routeFor(routes, method.path, false);
        const keyed = routeFor(routes, method.path, true);
        expect(plain, `${name} ${method.path}`).toBeDefined();
        if (method.serverStreaming) {
          expect(plain.route.retry_policy, method.path).toBeUndefined();
          expect(plain.route.timeout).toBe("0s");
          continue;
        }
        // Without a key, only non-mutating calls may be retried.
        expect(Boolean(plain.route.retry_policy), `${name} ${method.path} without key`).toBe(!method.mutating);
        // With a key, every unary call may be retried: the core replays the first answer.
        expect(keyed.route.retry_policy, `${name} ${method.path} with key`).toBeDefined();
        expect(keyed.route.retry_policy.retry_on).not.toMatch(/5xx|retriable-status-codes|resource-exhausted/);
      }
    }
  });
});
