// gateway/envoy/envoy.yaml against Envoy's own schema, offline: YAML → JSON →
// envoy.config.bootstrap.v3.Bootstrap, every typed_config Any resolved by
// type, unknown fields, bad enums, unknown types and bad durations rejected.
// A deliberately broken copy of each kind must fail.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { fromJson, type FileRegistry, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { allMethods, httpRules, loadRegistry } from "../../gateway/descriptors";
import { CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS, CORS_MAX_AGE } from "../../gateway/cors";
import { HTTP_BODY_HEADERS } from "../../gateway/server";
import { buildRouter } from "../../gateway/transcoder";
import { loadEnvoyApi } from "./envoy-api";
import { validateRules } from "./pgv";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CONFIG = readFileSync(`${ROOT}gateway/envoy/envoy.yaml`, "utf8");

let envoy: FileRegistry;
beforeAll(() => {
  envoy = loadEnvoyApi();
});

/** Parses an Envoy YAML config as a Bootstrap; throws on anything Envoy's schema rejects. */
function validate(yamlText: string): void {
  const json = JSON.parse(JSON.stringify(parse(yamlText, { merge: true }))) as JsonValue;
  const bootstrap = envoy.getMessage("envoy.config.bootstrap.v3.Bootstrap");
  if (!bootstrap) throw new Error("Bootstrap is missing from the Envoy API registry");
  const message = fromJson(bootstrap, json, { registry: envoy, ignoreUnknownFields: false });
  const problems = validateRules(envoy, bootstrap, message as never);
  if (problems.length > 0) throw new Error(`envoy.yaml breaks the schema's rules:\n${problems.join("\n")}`);
}

/** Every `typed_config` in a parsed config, with where it is. */
function typedConfigs(node: JsonValue, out: JsonObject[] = []): JsonObject[] {
  if (Array.isArray(node)) for (const v of node) typedConfigs(v, out);
  else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if ((k === "typed_config" || (k.startsWith("envoy.") && v && typeof v === "object" && "@type" in v)) && v && typeof v === "object" && !Array.isArray(v)) out.push(v);
      typedConfigs(v, out);
    }
  }
  return out;
}

const config = () => parse(CONFIG, { merge: true }) as any;
const rest = (c: any) => c.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
const transcoder = (c: any) => rest(c).http_filters.find((f: any) => f.name === "envoy.filters.http.grpc_json_transcoder").typed_config;

describe("envoy.yaml", () => {
  it("is a valid Bootstrap with every typed_config resolved", () => {
    expect(() => validate(CONFIG)).not.toThrow();
    const types = typedConfigs(config()).map((t) => t["@type"] as string);
    expect(types.length).toBeGreaterThanOrEqual(6);
    for (const t of types) expect(envoy.getMessage(t.replace("type.googleapis.com/", "")), t).toBeDefined();
  });

  it("transcodes every payments.v1 service of the descriptor set, with the Node gateway's print options", () => {
    const t = transcoder(config());
    const ours = loadRegistry();
    const services = [...new Set(allMethods(ours).filter((m) => httpRules(ours, m).length > 0).map((m) => m.parent.typeName))];
    expect([...t.services].sort()).toEqual(services.sort());
    expect(t.print_options).toEqual({
      add_whitespace: false,
      always_print_primitive_fields: true,
      always_print_enums_as_ints: false,
      preserve_proto_field_names: true,
      stream_sse_style_delimited: true,
    });
    expect(t.convert_grpc_status).toBe(true);
    expect(t.request_validation_options).toMatchObject({ reject_unknown_method: true, reject_unknown_query_parameters: true });
    expect(t.max_request_body_size).toBe(1024 * 1024);
    expect(existsSync(`${ROOT}${t.proto_descriptor}`)).toBe(true);
  });

  it("runs the Lua error filter before the transcoder and the router last, with the script present", () => {
    const names = rest(config()).http_filters.map((f: any) => f.name);
    expect(names).toEqual([
      "envoy.filters.http.cors",
      "envoy.filters.http.local_ratelimit",
      "envoy.filters.http.lua",
      "envoy.filters.http.grpc_json_transcoder",
      "envoy.filters.http.router",
    ]);
    const lua = rest(config()).http_filters.find((f: any) => f.name === "envoy.filters.http.lua").typed_config.default_source_code.filename;
    expect(existsSync(`${ROOT}${lua}`)).toBe(true);
  });

  it("has the Node gateway's CORS policy (gateway/cors.ts)", () => {
    const policy = rest(config()).route_config.virtual_hosts[0].typed_per_filter_config["envoy.filters.http.cors"];
    expect(policy.allow_headers).toBe(CORS_ALLOW_HEADERS);
    expect(policy.expose_headers).toBe(CORS_EXPOSE_HEADERS);
    expect(policy.max_age).toBe(CORS_MAX_AGE);
    expect(policy.allow_methods).toBe(buildRouter(loadRegistry()).methods().join(","));
  });

  it("has no timeout on the streaming route and passes gRPC straight through on a second listener", () => {
    const routes = rest(config()).route_config.virtual_hosts[0].routes;
    const stream = routes.find((r: any) => r.match.prefix === "/payments.v1.EventService/StreamEvents");
    expect(stream.route).toMatchObject({ timeout: "0s", idle_timeout: "0s" });
    const grpc = config().static_resources.listeners[1].filter_chains[0].filters[0].typed_config;
    expect(grpc.codec_type).toBe("HTTP2");
    expect(grpc.http_filters.map((f: any) => f.name)).toEqual(["envoy.filters.http.router"]);
  });

  it("sends the Node gateway's HttpBody headers (nosniff, CSP) on receipt pages", () => {
    const routes = rest(config()).route_config.virtual_hosts[0].routes;
    const receipts = routes.findIndex((r: any) => r.match.prefix === "/payments.v1.ReceiptService/");
    // Before the catch-all route, which would otherwise take it.
    expect(receipts).toBeGreaterThanOrEqual(0);
    expect(receipts).toBeLessThan(routes.findIndex((r: any) => r.match.prefix === "/"));
    const added = Object.fromEntries(routes[receipts].response_headers_to_add.map((h: any) => [h.header.key, h.header.value]));
    const expected = Object.fromEntries(Object.entries(HTTP_BODY_HEADERS).map(([k, v]) => [k.toLowerCase(), v]));
    expect(added).toEqual(expected);
  });
});

describe("a broken copy fails the schema", () => {
  const broken: [string, (c: any) => void, RegExp][] = [
    ["an unknown field", (c) => (transcoder(c).print_options.pretty = true), /pretty/],
    ["an unknown top-level field", (c) => (c.static_resources.listener = []), /listener/],
    ["a bad enum", (c) => (rest(c).codec_type = "HTTP9"), /HTTP9/],
    ["an unknown typed_config type", (c) => (rest(c).http_filters[2].typed_config["@type"] = "type.googleapis.com/envoy.extensions.filters.http.nope.v3.Nope"), /nope/i],
    ["a bad duration", (c) => (c.static_resources.clusters[0].connect_timeout = "1 second"), /connect_timeout|Duration|1 second/],
    ["a wrong type", (c) => (c.static_resources.listeners[0].address.socket_address.port_value = "eighty"), /eighty|port_value/],
    ["a port out of range (validate rule)", (c) => (c.static_resources.listeners[0].address.socket_address.port_value = 70000), /port_value: must be <= 65535/],
    ["an empty stat_prefix (validate rule)", (c) => delete rest(c).stat_prefix, /stat_prefix: shorter than 1/],
    ["a route without a cluster (validate rule)", (c) => (rest(c).route_config.virtual_hosts[0].routes[1].route.cluster = ""), /cluster: shorter than 1/],
    ["a transcoder without a descriptor set (required oneof)", (c) => delete transcoder(c).proto_descriptor, /proto_descriptor, proto_descriptor_bin is required/],
    ["a zero connect_timeout (validate rule)", (c) => (c.static_resources.clusters[0].connect_timeout = "0s"), /connect_timeout: must be longer than 0s/],
    ["a virtual host without domains (validate rule)", (c) => (rest(c).route_config.virtual_hosts[0].domains = []), /domains: needs at least 1 items/],
  ];
  it.each(broken)("%s", (_name, breakIt, message) => {
    const c = config();
    breakIt(c);
    expect(() => validate(JSON.stringify(c))).toThrow(message);
  });
});
