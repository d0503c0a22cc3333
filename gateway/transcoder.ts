// JSON ↔ protobuf for the REST gateway, on the descriptors alone: the route
// table comes from every method's google.api.http rules, requests are built
// from path variables, the query string and the body as the HttpRule spec
// says, and responses print as canonical proto3 JSON with the same options
// as Envoy (server/json.ts PRINT_OPTIONS).
import {
  create,
  fromBinary,
  fromJson,
  ScalarType,
  toBinary,
  toJson,
  type DescField,
  type DescMessage,
  type FileRegistry,
  type JsonObject,
  type JsonValue,
} from "@bufbuild/protobuf";
import { PRINT_OPTIONS } from "../server/json";
import { allMethods, httpRules, type HttpRule } from "./descriptors";
import { gatewayErrors } from "./errors";
import { Router, parseTemplate, type Binding } from "./http-rule";
import type { ErrorDetail } from "../gen/payments/v1/common";

/** One HTTP binding of an RPC, compiled once at start-up. */
export interface Route {
  /** Full gRPC method path, `/payments.v1.RefundService/CreateRefund`. */
  rpcPath: string;
  httpMethod: string;
  template: string;
  rule: HttpRule;
  serverStreaming: boolean;
  input: DescMessage;
  output: DescMessage;
  /** The request field the body fills, for `body: "field"`. */
  bodyField?: DescField;
  /** The response field printed as the body, for `response_body`. */
  responseField?: DescField;
  /** The (selected) response is a google.api.HttpBody: sent raw with its content type. */
  httpBody: boolean;
}

/** A request the gateway refuses itself: HTTP status and the error object. */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly detail: ErrorDetail,
  ) {
    super(detail.message);
    this.name = "GatewayError";
  }
  static of([status, detail]: [number, ErrorDetail]): GatewayError {
    return new GatewayError(status, detail);
  }
}

const HTTP_BODY = "google.api.HttpBody";

function topField(message: DescMessage, name: string, where: string): DescField {
  const field = message.fields.find((f) => f.name === name);
  if (!field) throw new Error(`${where}: ${message.typeName} has no field ${name}`);
  return field;
}

/** Compiles the routes of every annotated method in `registry` (or only `methods`). */
export function buildRouter(registry: FileRegistry): Router<Route> {
  const router = new Router<Route>();
  for (const method of allMethods(registry)) {
    if (method.methodKind !== "unary" && method.methodKind !== "server_streaming") continue;
    for (const rule of httpRules(registry, method)) {
      const where = `${method.parent.typeName}.${method.name} ${rule.method.toUpperCase()} ${rule.path}`;
      const template = parseTemplate(rule.path);
      for (const v of template.variables) fieldAt(method.input, v.fieldPath, where);
      const bodyField = rule.body && rule.body !== "*" ? topField(method.input, rule.body, where) : undefined;
      const responseField = rule.responseBody ? topField(method.output, rule.responseBody, where) : undefined;
      const selected = responseField ? responseField.message : method.output;
      const route: Route = {
        rpcPath: `/${method.parent.typeName}/${method.name}`,
        httpMethod: rule.method.toUpperCase(),
        template: rule.path,
        rule,
        serverStreaming: method.methodKind === "server_streaming",
        input: method.input,
        output: method.output,
        bodyField,
        responseField,
        httpBody: selected?.typeName === HTTP_BODY,
      };
      router.add(route.httpMethod, template, route);
    }
  }
  return router;
}

// Field lookup by proto name or JSON name, cached per message.
const fieldMaps = new WeakMap<DescMessage, Map<string, DescField>>();
function fieldNamed(message: DescMessage, name: string): DescField | undefined {
  let map = fieldMaps.get(message);
  if (!map) {
    map = new Map();
    for (const f of message.fields) {
      map.set(f.jsonName, f);
      map.set(f.name, f);
    }
    fieldMaps.set(message, map);
  }
  return map.get(name);
}

/** Resolves a dotted field path through singular message fields. */
function fieldAt(message: DescMessage, path: string[], where: string): DescField {
  let current = message;
  let field: DescField | undefined;
  for (let i = 0; i < path.length; i++) {
    field = fieldNamed(current, path[i]);
    if (!field) throw new Error(`${where}: no field ${path.join(".")} in ${message.typeName}`);
    if (i < path.length - 1) {
      if (field.fieldKind !== "message") throw new Error(`${where}: ${path.slice(0, i + 1).join(".")} is not a message`);
      current = field.message;
    }
  }
  return field!;
}

/** Sets `value` at `path` in a JSON object, creating the objects on the way. */
function setPath(target: JsonObject, path: string[], value: JsonValue): void {
  let obj = target;
  for (let i = 0; i < path.length - 1; i++) {
    const next = obj[path[i]];
    if (next === null || typeof next !== "object" || Array.isArray(next)) obj[path[i]] = {};
    obj = obj[path[i]] as JsonObject;
  }
  obj[path[path.length - 1]] = value;
}

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === "object" && !Array.isArray(v);

/** A text value (path variable or query parameter) as the JSON value of its field's type. */
function textValue(field: DescField, value: string, param: string): JsonValue {
  const scalar = field.fieldKind === "scalar" ? field.scalar : field.fieldKind === "list" && field.listKind === "scalar" ? field.scalar : undefined;
  if (scalar === ScalarType.BOOL) {
    if (value === "true" || value === "1") return true;
    if (value === "false" || value === "0") return false;
    throw GatewayError.of(gatewayErrors.invalidParam(param, `Invalid value for ${param}: expected true or false.`));
  }
  // Numbers, enums, bytes and wrapper/well-known types accept their text form in proto3 JSON.
  return value;
}

/** Splits a query string into decoded name/value pairs (`+` stays `+`, as Envoy does by default). */
function* queryPairs(query: string): Generator<[string, string]> {
  for (const part of query.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? "" : part.slice(eq + 1);
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(rawName);
      value = decodeURIComponent(rawValue);
    } catch {
      throw GatewayError.of(gatewayErrors.invalidParam(rawName, `Invalid percent-encoding in query parameter ${rawName}.`));
    }
    yield [name, value];
  }
}

/** Maps the query string onto `json`: dotted names for nested fields, repeated names for repeated fields. */
function applyQuery(route: Route, json: JsonObject, query: string, bound: Set<string>): void {
  for (const [name, value] of queryPairs(query)) {
    // With `body: "*"` every field comes from the body: a query parameter can only be unknown.
    if (route.rule.body === "*") throw GatewayError.of(gatewayErrors.unknownParam(name));
    const path = name.split(".");
    let message = route.input;
    let field: DescField | undefined;
    const protoPath: string[] = [];
    for (let i = 0; i < path.length; i++) {
      field = fieldNamed(message, path[i]);
      if (!field) throw GatewayError.of(gatewayErrors.unknownParam(name));
      protoPath.push(field.name);
      if (i < path.length - 1) {
        if (field.fieldKind !== "message") throw GatewayError.of(gatewayErrors.unknownParam(name));
        message = field.message;
      }
    }
    const dotted = protoPath.join(".");
    const leafIsValue =
      field!.fieldKind === "scalar" ||
      field!.fieldKind === "enum" ||
      (field!.fieldKind === "list" && field!.listKind !== "message") ||
      (field!.fieldKind === "message" && isTextMessage(field!.message));
    if (!leafIsValue || bound.has(dotted) || (route.bodyField && protoPath[0] === route.bodyField.name)) {
      throw GatewayError.of(gatewayErrors.unknownParam(name));
    }
    const v = textValue(field!, value, dotted);
    if (field!.fieldKind === "list") {
      let obj: JsonObject = json;
      for (const p of protoPath.slice(0, -1)) obj = (isObject(obj[p]) ? obj[p] : (obj[p] = {})) as JsonObject;
      const leaf = protoPath[protoPath.length - 1];
      const list = Array.isArray(obj[leaf]) ? (obj[leaf] as JsonValue[]) : (obj[leaf] = []);
      list.push(v);
    } else {
      setPath(json, protoPath, v);
    }
  }
}

/** Well-known types whose JSON form is a single string or number (wrappers, Timestamp, Duration, FieldMask). */
function isTextMessage(message: DescMessage): boolean {
  return /^google\.protobuf\.(\w+Value|Timestamp|Duration|FieldMask)$/.test(message.typeName) && message.typeName !== "google.protobuf.ListValue";
}

function parseBody(body: Uint8Array | undefined): JsonValue | undefined {
  if (!body || body.length === 0) return undefined;
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8");
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw GatewayError.of(gatewayErrors.invalidJson());
  }
}

/**
 * Builds the request message of `route` from the path bindings, the query
 * string and the body, and returns its wire bytes. Throws a GatewayError (400)
 * naming the parameter that is unknown or does not fit its field.
 */
export function encodeRequest(route: Route, bindings: Binding[], query: string, body: Uint8Array | undefined): Uint8Array {
  let json: JsonObject = {};
  if (route.rule.body === "*") {
    const parsed = parseBody(body);
    if (parsed !== undefined) {
      if (!isObject(parsed)) throw GatewayError.of(gatewayErrors.invalidParam("body", "The request body must be a JSON object."));
      json = parsed;
    }
  } else if (route.bodyField) {
    const parsed = parseBody(body);
    if (parsed !== undefined) json[route.bodyField.name] = parsed;
  }
  const bound = new Set<string>();
  for (const b of bindings) {
    const field = fieldAt(route.input, b.fieldPath, route.template);
    const dotted = b.fieldPath.join(".");
    bound.add(dotted);
    const value = textValue(field, b.value, dotted);
    // A body that names the same field differently is refused, as Envoy's
    // reject_binding_body_field_collisions does (the same value is fine).
    const inBody = b.fieldPath.reduce<JsonValue | undefined>((v, k) => (isObject(v) ? v[k] : undefined), json);
    if (inBody !== undefined && inBody !== null && String(inBody) !== String(value)) {
      throw GatewayError.of(gatewayErrors.invalidParam(dotted, `The ${dotted} in the body does not match the ${dotted} in the URL.`));
    }
    setPath(json, b.fieldPath, value);
  }
  if (query) applyQuery(route, json, query, bound);
  let message;
  try {
    message = fromJson(route.input, json);
  } catch {
    throw locateProblem(route.input, json, route.bodyField ? [] : []);
  }
  return toBinary(route.input, message);
}

function expected(field: DescField): string {
  switch (field.fieldKind) {
    case "list":
      return "an array";
    case "map":
      return "an object";
    case "message":
      return isTextMessage(field.message) ? "a string" : "an object";
    case "enum":
      return `one of ${field.enum.values.map((v) => v.name).join(", ")}`;
    case "scalar":
      switch (field.scalar) {
        case ScalarType.STRING:
          return "a string";
        case ScalarType.BOOL:
          return "a boolean";
        case ScalarType.BYTES:
          return "base64-encoded bytes";
        case ScalarType.DOUBLE:
        case ScalarType.FLOAT:
          return "a number";
        default:
          return "an integer in range";
      }
  }
}

/**
 * Finds which field of `json` made fromJson fail, by decoding one key at a
 * time (the same validation as the whole decode, so the two cannot disagree).
 */
function locateProblem(schema: DescMessage, json: JsonValue, prefix: string[]): GatewayError {
  const found = findProblem(schema, json, prefix);
  return found ?? GatewayError.of(gatewayErrors.invalidParam(prefix.join(".") || "body", "The request does not fit the method's parameters."));
}

function findProblem(schema: DescMessage, json: JsonValue, prefix: string[]): GatewayError | undefined {
  const here = prefix.join(".");
  if (!isObject(json)) return GatewayError.of(gatewayErrors.invalidParam(here || "body", `Invalid value for ${here || "body"}: expected an object.`));
  for (const [key, value] of Object.entries(json)) {
    const field = fieldNamed(schema, key);
    const path = [...prefix, field ? field.name : key];
    if (!field) return GatewayError.of(gatewayErrors.unknownParam(path.join(".")));
    try {
      fromJson(schema, { [key]: value });
      continue;
    } catch {
      // This key is at fault; look deeper for a more precise parameter.
    }
    if (field.fieldKind === "message" && !isTextMessage(field.message) && isObject(value) && !field.message.typeName.startsWith("google.protobuf.")) {
      const inner = findProblem(field.message, value, path);
      if (inner) return inner;
    }
    if (field.fieldKind === "list" && field.listKind === "message" && Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const itemPath = [...prefix, `${field.name}[${i}]`];
        const inner = findProblem(field.message, value[i], itemPath);
        if (inner) return inner;
      }
    }
    const param = path.join(".");
    return GatewayError.of(gatewayErrors.invalidParam(param, `Invalid value for ${param}: expected ${expected(field)}.`));
  }
  return undefined;
}

/** An HTTP response body as the transcoder prints it. */
export interface EncodedBody {
  contentType: string;
  body: string | Uint8Array;
}

/** Turns a response message's wire bytes into the HTTP body: JSON, or the raw HttpBody. */
export function decodeResponse(route: Route, bytes: Uint8Array): EncodedBody {
  const message = fromBinary(route.output, bytes);
  let schema: DescMessage = route.output;
  let value: Record<string, unknown> = message as unknown as Record<string, unknown>;
  if (route.responseField) {
    schema = route.responseField.message!;
    value = ((message as unknown as Record<string, unknown>)[route.responseField.localName] as Record<string, unknown>) ?? create(schema);
  }
  if (route.httpBody) {
    return { contentType: (value.contentType as string) || "application/octet-stream", body: (value.data as Uint8Array) ?? new Uint8Array() };
  }
  return { contentType: "application/json", body: JSON.stringify(toJson(schema, value as never, PRINT_OPTIONS)) };
}
