// Canonical proto3 JSON of our messages, exactly as the gateways print it
// (proto field names, fields without presence always printed). Used where
// the core itself writes JSON: event payloads and webhook bodies.
import { fromBinary, toJson, type JsonValue } from "@bufbuild/protobuf";
import { loadRegistry } from "../gateway/descriptors";

const registry = loadRegistry();

/** The print options both gateways use (Envoy: preserve_proto_field_names, always_print_primitive_fields). */
export const PRINT_OPTIONS = { useProtoFieldName: true, alwaysEmitImplicit: true } as const;

/** A ts-proto message's codec, as generated. */
export interface Encoder<T> {
  encode(message: T): { finish(): Uint8Array };
}

/** Prints `message` (of proto type `typeName`, e.g. `payments.v1.PaymentIntent`) as canonical JSON. */
export function toCanonicalJson<T>(typeName: string, codec: Encoder<T>, message: T): JsonValue {
  const schema = registry.getMessage(typeName);
  if (!schema) throw new Error(`unknown message type ${typeName}`);
  return toJson(schema, fromBinary(schema, codec.encode(message).finish()), PRINT_OPTIONS);
}
