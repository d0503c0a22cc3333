// Envoy's own API schema, offline: the Envoy API protos that the npm package
// @grpc/grpc-js-xds ships, compiled with buf into a registry in a temp dir.
// Changes to the copy we build from, all of upstream Envoy/PGV that this
// snapshot predates (the config targets Envoy 1.33+): PGV's
// StringRules.ignore_empty (the Envoy protos use it in options, so they do
// not compile without it), GrpcJsonTranscoder.PrintOptions.
// stream_sse_style_delimited, and the empty (wildcard) rate-limit descriptor
// value that recent Envoy's local rate limiting takes as a wildcard.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createFileRegistry, fromBinary, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DEPS = join(ROOT, "node_modules/@grpc/grpc-js-xds/deps");

/** The Envoy API files the config uses (the bootstrap and every typed_config type), imports included. */
export const ENVOY_API_FILES = [
  "envoy/config/bootstrap/v3/bootstrap.proto",
  "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
  "envoy/extensions/filters/http/grpc_json_transcoder/v3/transcoder.proto",
  "envoy/extensions/filters/http/lua/v3/lua.proto",
  "envoy/extensions/filters/http/cors/v3/cors.proto",
  "envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto",
  "envoy/extensions/filters/http/router/v3/router.proto",
  "envoy/extensions/upstreams/http/v3/http_protocol_options.proto",
];

function patch(file: string, anchor: RegExp, addition: string): void {
  const text = readFileSync(file, "utf8");
  if (!anchor.test(text)) throw new Error(`cannot patch ${file}: ${anchor} not found`);
  writeFileSync(file, text.replace(anchor, (m) => `${m}\n${addition}`));
}

/** Builds the registry of Envoy's API (takes about a second). */
export function loadEnvoyApi(): FileRegistry {
  const dir = mkdtempSync(join(tmpdir(), "envoy-api-"));
  try {
    const src = join(dir, "src");
    cpSync(join(DEPS, "envoy-api/envoy"), join(src, "envoy"), { recursive: true });
    cpSync(join(DEPS, "googleapis/google"), join(src, "google"), { recursive: true });
    cpSync(join(DEPS, "protoc-gen-validate/validate"), join(src, "validate"), { recursive: true });
    cpSync(join(DEPS, "xds/udpa"), join(src, "udpa"), { recursive: true });
    cpSync(join(DEPS, "xds/xds"), join(src, "xds"), { recursive: true });
    patch(join(src, "validate/validate.proto"), /optional bool strict = 25 \[default = true\];/, "  optional bool ignore_empty = 26;");
    patch(
      join(src, "envoy/extensions/filters/http/grpc_json_transcoder/v3/transcoder.proto"),
      /bool stream_newline_delimited = 5;/,
      "    bool stream_sse_style_delimited = 6;",
    );
    const ratelimit = join(src, "envoy/extensions/common/ratelimit/v3/ratelimit.proto");
    const text = readFileSync(ratelimit, "utf8");
    const entryValue = /string value = 2 \[\(validate\.rules\)\.string = \{min_len: 1\}\];/;
    if (!entryValue.test(text)) throw new Error("cannot patch ratelimit.proto: Entry.value rule not found");
    writeFileSync(ratelimit, text.replace(entryValue, "string value = 2;"));
    writeFileSync(join(dir, "buf.yaml"), "version: v2\nmodules:\n  - path: src\n");
    const paths = ENVOY_API_FILES.flatMap((f) => ["--path", join("src", f)]);
    execFileSync(join(ROOT, "node_modules/.bin/buf"), ["build", "-o", join(dir, "envoy.binpb"), ...paths], { cwd: dir, stdio: "pipe" });
    return createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(join(dir, "envoy.binpb"))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
