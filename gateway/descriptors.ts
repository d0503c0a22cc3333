// Reads the descriptor set that `npm run gen` writes (gen/payments.binpb):
// the one source, shared with Envoy, of every service, message and HTTP rule.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createFileRegistry, fromBinary, getExtension, hasExtension, type DescMethod, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

/** Where `npm run gen` writes the descriptor set. */
export const DESCRIPTOR_SET_PATH = fileURLToPath(new URL("../gen/payments.binpb", import.meta.url));

/** A google.api.HttpRule, as read from the descriptors. */
export interface HttpRule {
  /** `get`, `put`, `post`, `delete`, `patch`, or the custom kind. */
  method: string;
  /** The path template, e.g. `/v1/payment_intents/{id}/confirm`. */
  path: string;
  /** `""` (no body), `"*"`, or a top-level request field name. */
  body: string;
  /** `""` (the whole response) or a top-level response field name. */
  responseBody: string;
}

/** Loads the descriptor set into a registry (types, services, extensions). */
export function loadRegistry(path = DESCRIPTOR_SET_PATH): FileRegistry {
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(path)));
}

interface RawRule {
  pattern: { case: string | undefined; value?: string | { kind: string; path: string } };
  body: string;
  responseBody: string;
  additionalBindings: RawRule[];
}

function toRule(raw: RawRule): HttpRule | undefined {
  const { case: kind, value } = raw.pattern;
  if (kind === undefined || value === undefined) return undefined;
  if (kind === "custom" && typeof value === "object") {
    return { method: value.kind.toLowerCase(), path: value.path, body: raw.body, responseBody: raw.responseBody };
  }
  return { method: kind, path: value as string, body: raw.body, responseBody: raw.responseBody };
}

/** The HTTP rules of a method: its primary binding, then its additional bindings. */
export function httpRules(registry: FileRegistry, method: DescMethod): HttpRule[] {
  const ext = registry.getExtension("google.api.http");
  const options = method.proto.options;
  if (!ext || !options || !hasExtension(options, ext)) return [];
  const raw = getExtension(options, ext) as unknown as RawRule;
  return [raw, ...raw.additionalBindings].map(toRule).filter((r): r is HttpRule => r !== undefined);
}

/** Every method of every service in the registry. */
export function allMethods(registry: FileRegistry): DescMethod[] {
  const out: DescMethod[] = [];
  for (const file of registry.files) for (const service of file.services) out.push(...service.methods);
  return out;
}
