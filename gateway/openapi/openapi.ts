// Builds the OpenAPI 3.1 document of the REST API from the descriptor set, the
// same source the gateways route by: paths from the google.api.http rules,
// schemas from the messages with the JSON types the canonical proto3 mapping
// prints, descriptions from the proto comments. Nothing here is hand-written
// per route, so the reference cannot drift from what the gateway serves.
import { ScalarType, type DescField, type DescMessage, type DescMethod, type DescService, type FileRegistry } from "@bufbuild/protobuf";
import { METHODS } from "../../server/methods";
import { allMethods, httpRules, loadRegistry, type HttpRule } from "../descriptors";

/** A JSON value of the document (kept loose: the document is data, checked by a validator in tests). */
type Json = { [key: string]: unknown };

const PACKAGE = "payments.v1";
const ERROR_DETAIL = `${PACKAGE}.ErrorDetail`;
const ERROR_RESPONSE = `${PACKAGE}.ErrorResponse`;

// ---------------------------------------------------------------- comments

/** The leading comments of every descriptor, by file name and source path. */
class Comments {
  private readonly byPath = new Map<string, string>();

  constructor(registry: FileRegistry) {
    for (const file of registry.files) {
      for (const loc of file.proto.sourceCodeInfo?.location ?? []) {
        if (loc.leadingComments) this.byPath.set(`${file.proto.name}:${loc.path.join(".")}`, clean(loc.leadingComments));
      }
    }
  }

  message(m: DescMessage): string {
    return this.get(m.file.proto.name, messagePath(m));
  }

  field(f: DescField): string {
    return this.get(f.parent.file.proto.name, [...messagePath(f.parent), 2, f.parent.proto.field.indexOf(f.proto)]);
  }

  service(s: DescService): string {
    return this.get(s.file.proto.name, [6, s.file.proto.service.indexOf(s.proto)]);
  }

  method(m: DescMethod): string {
    const s = m.parent;
    return this.get(s.file.proto.name, [6, s.file.proto.service.indexOf(s.proto), 2, s.proto.method.indexOf(m.proto)]);
  }

  private get(file: string, path: number[]): string {
    return this.byPath.get(`${file}:${path.join(".")}`) ?? "";
  }
}

/** Source path of a (possibly nested) message: [4, i] or [...parent, 3, j]. */
function messagePath(m: DescMessage): number[] {
  if (m.parent) return [...messagePath(m.parent), 3, m.parent.proto.nestedType.indexOf(m.proto)];
  return [4, m.file.proto.messageType.indexOf(m.proto)];
}

/** A proto comment as Markdown: one leading space per line dropped, paragraphs kept. */
function clean(comment: string): string {
  return comment
    .split("\n")
    .map((line) => (line.startsWith(" ") ? line.slice(1) : line))
    .join("\n")
    .trim();
}

/** The first sentence of a comment, for operation summaries. */
function firstSentence(text: string): string {
  const flat = text.split("\n\n")[0].replace(/\s*\n\s*/g, " ");
  const end = flat.search(/\.(\s|$)/);
  return end < 0 ? flat : flat.slice(0, end);
}

/** Strips the `Output only.` / `Required.` markers that start field comments. */
function fieldText(comment: string): { text: string; outputOnly: boolean; required: boolean } {
  let text = comment;
  const outputOnly = text.startsWith("Output only.");
  if (outputOnly) text = text.slice("Output only.".length).trim();
  const required = text.startsWith("Required.");
  if (required) text = text.slice("Required.".length).trim();
  return { text, outputOnly, required };
}

// The allowed values of a string field, where its comment is just their list:
// "`a`, `b` or `c`." (optionally after "Label: ", optionally with "(default)").
const VALUE = "`([a-z0-9_]+)`(?: \\(default\\))?";
const VALUE_LIST = new RegExp(`^(?:[^\`:]*: )?(${VALUE}(?:(?:, | or |, or )${VALUE})*)(?:\\.|:.*)?$`, "s");

/** The values a comment lists for a string field, or undefined if it is not such a list. */
export function allowedValues(text: string): string[] | undefined {
  const flat = text.replace(/\s*\n\s*/g, " ");
  // "`automatic`: what it does. `manual`: what it does."
  if (/^`[a-z0-9_]+`: /.test(flat)) return [...flat.matchAll(/(?:^|\. )`([a-z0-9_]+)`: /g)].map((v) => v[1]);
  const sentence = flat.split(/\.(?:\s|$)/)[0] + ".";
  const m = VALUE_LIST.exec(sentence);
  if (!m) return undefined;
  return [...m[1].matchAll(/`([a-z0-9_]+)`/g)].map((v) => v[1]);
}

// ---------------------------------------------------------------- schemas

/** Component name of a message: its short name within payments.v1, else the full name. */
function schemaName(m: DescMessage): string {
  return m.file.proto.package === PACKAGE ? m.name : m.typeName.replace(/\./g, "_");
}

function ref(m: DescMessage): Json {
  return { $ref: `#/components/schemas/${schemaName(m)}` };
}

/** The JSON schema of one scalar, as canonical proto3 JSON prints it. */
function scalarSchema(t: ScalarType): Json {
  switch (t) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", minimum: 0, maximum: 4294967295 };
    // 64-bit integers are JSON strings in the canonical mapping.
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { type: "string", format: "int64" };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: "string", format: "uint64" };
    case ScalarType.DOUBLE:
      return { type: "number", format: "double" };
    case ScalarType.FLOAT:
      return { type: "number", format: "float" };
    case ScalarType.BYTES:
      return { type: "string", contentEncoding: "base64" };
  }
}

/** Well-known types print as plain JSON values, not as their messages. */
function wellKnownSchema(m: DescMessage): Json | undefined {
  switch (m.typeName) {
    case "google.protobuf.Struct":
      return { type: "object", additionalProperties: true };
    case "google.protobuf.Value":
      return {};
    case "google.protobuf.ListValue":
      return { type: "array", items: {} };
    case "google.protobuf.Timestamp":
      return { type: "string", format: "date-time" };
    case "google.protobuf.Duration":
      return { type: "string", pattern: "^-?[0-9]+(\\.[0-9]+)?s$" };
    case "google.protobuf.Any":
      return { type: "object", properties: { "@type": { type: "string" } }, required: ["@type"], additionalProperties: true };
  }
  return undefined;
}

/** The schema of a field's value (one element for repeated fields). */
function valueSchema(field: DescField, use: (m: DescMessage) => void): Json {
  switch (field.fieldKind) {
    case "scalar":
      return scalarSchema(field.scalar);
    case "enum":
      return { type: "string", enum: field.enum.values.map((v) => v.name) };
    case "message":
      return messageValue(field.message, use);
    case "list":
      if (field.listKind === "scalar") return { type: "array", items: scalarSchema(field.scalar) };
      if (field.listKind === "enum") return { type: "array", items: { type: "string", enum: field.enum.values.map((v) => v.name) } };
      return { type: "array", items: messageValue(field.message, use) };
    case "map": {
      const value =
        field.mapKind === "scalar"
          ? scalarSchema(field.scalar)
          : field.mapKind === "enum"
            ? { type: "string", enum: field.enum.values.map((v) => v.name) }
            : messageValue(field.message, use);
      return { type: "object", additionalProperties: value };
    }
  }
}

function messageValue(m: DescMessage, use: (m: DescMessage) => void): Json {
  const wkt = wellKnownSchema(m);
  if (wkt) return wkt;
  use(m);
  return ref(m);
}

/**
 * Whether the JSON a merchant gets always has this field: the gateways print
 * fields without presence even when empty (`always_print_primitive_fields`),
 * so only proto3 `optional` fields and message fields can be absent.
 */
function alwaysPrinted(field: DescField): boolean {
  if (field.fieldKind === "list" || field.fieldKind === "map") return true;
  if (field.fieldKind === "message") return false;
  return field.presence === 2 /* IMPLICIT */;
}

/** How a message is read: a request body (required = documented `Required.`) or an API object (required = always printed). */
type Role = "input" | "output";

/** Builds one message's object schema, minus the fields bound elsewhere (path parameters). */
function objectSchema(m: DescMessage, role: Role, comments: Comments, use: (m: DescMessage) => void, omit: Set<string> = new Set()): Json {
  const properties: Json = {};
  const required: string[] = [];
  for (const field of m.fields) {
    if (omit.has(field.name)) continue;
    const { text, outputOnly, required: documentedRequired } = fieldText(comments.field(field));
    const schema: Json = { ...valueSchema(field, use) };
    if (field.fieldKind === "scalar" && field.scalar === ScalarType.STRING) {
      const values = allowedValues(text);
      if (values) schema.enum = values;
    }
    if (text) schema.description = text;
    if (outputOnly && role === "output") schema.readOnly = true;
    properties[field.name] = schema;
    if (role === "output" ? alwaysPrinted(field) : documentedRequired) required.push(field.name);
  }
  const out: Json = { type: "object" };
  const description = comments.message(m);
  if (description) out.description = description;
  out.properties = properties;
  if (required.length > 0) out.required = required;
  return out;
}

// ---------------------------------------------------------------- paths

/** `/v1/x/{name=a/*}` → `/v1/x/{name}` (OpenAPI templates name the variable only). */
function openApiPath(template: string): string {
  return template.replace(/\{([^}=]+)(=[^}]*)?\}/g, "{$1}");
}

/** The variables of a path template, as top-level field names (`a.b` keeps its dots). */
function pathVariables(template: string): string[] {
  return [...template.matchAll(/\{([^}=]+)(=[^}]*)?\}/g)].map((m) => m[1]);
}

/** `CreatePaymentIntent` → `createPaymentIntent`. */
function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** `PaymentIntentService` → `Payment intents`. */
export function tagName(service: DescService): string {
  const words = service.name.replace(/Service$/, "").split(/(?=[A-Z])/);
  const phrase = words.map((w, i) => (i === 0 ? w : w.toLowerCase())).join(" ");
  return phrase.endsWith("s") ? phrase : `${phrase}s`;
}

/** A field's query parameters: scalars by name, nested messages as dotted names, maps not representable. */
function queryParameters(field: DescField, prefix: string, comments: Comments, use: (m: DescMessage) => void): Json[] {
  const name = `${prefix}${field.name}`;
  if (field.fieldKind === "map") return [];
  if (field.fieldKind === "message" && !wellKnownSchema(field.message)) {
    return field.message.fields.flatMap((f) => queryParameters(f, `${name}.`, comments, use));
  }
  const { text, required } = fieldText(comments.field(field));
  const schema = valueSchema(field, use);
  if (field.fieldKind === "scalar" && field.scalar === ScalarType.STRING) {
    const values = allowedValues(text);
    if (values) schema.enum = values;
  }
  const param: Json = { name, in: "query" };
  if (text) param.description = text;
  if (required) param.required = true;
  param.schema = schema;
  // Repeated values come as `?types=a&types=b`.
  if (field.fieldKind === "list") {
    param.style = "form";
    param.explode = true;
  }
  return [param];
}

function accessNote(access: string | undefined): string {
  switch (access) {
    case "public":
      return "No API key needed.";
    case "publishable":
      return "Accepts a secret key, or a publishable key (with the client secret where the object has one).";
    default:
      return "Needs a secret key.";
  }
}

const ERROR_STATUSES: Array<[string, string]> = [
  ["400", "InvalidRequest"],
  ["401", "Unauthenticated"],
  ["402", "CardError"],
  ["403", "Forbidden"],
  ["404", "NotFound"],
  ["409", "Conflict"],
  ["429", "RateLimited"],
  ["500", "ApiError"],
  ["503", "Unavailable"],
];

/** The reusable error responses: every one is the spec's `{"error": {...}}` body. */
function errorResponses(): Json {
  const body = (description: string, extra: Json = {}): Json => ({
    description,
    headers: { "Request-Id": { $ref: "#/components/headers/RequestId" }, ...extra },
    content: { "application/json": { schema: { $ref: "#/components/schemas/ErrorResponse" } } },
  });
  const retryAfter = { "Retry-After": { $ref: "#/components/headers/RetryAfter" } };
  return {
    InvalidRequest: body("`invalid_request_error` (or `idempotency_error` for a reused key): a missing or invalid parameter."),
    Unauthenticated: body("`authentication_error`: no API key, or an invalid one."),
    CardError: body("`card_error`: the card was declined; `decline_code` says why."),
    Forbidden: body("`authentication_error`: the key may not do this (e.g. a publishable key on a secret-key route), or the account is suspended."),
    NotFound: body("`invalid_request_error` with code `resource_missing`: no such object, or no such route."),
    Conflict: body("`idempotency_error`: another request with the same Idempotency-Key is in progress; retry later."),
    RateLimited: body("`rate_limit_error`: too many requests; retry after `Retry-After` seconds.", {
      ...retryAfter,
      "RateLimit-Limit": { $ref: "#/components/headers/RateLimitLimit" },
      "RateLimit-Remaining": { $ref: "#/components/headers/RateLimitRemaining" },
      "RateLimit-Reset": { $ref: "#/components/headers/RateLimitReset" },
    }),
    ApiError: body("`api_error`: an unexpected error on our side."),
    Unavailable: body("`api_error`: the service is temporarily unavailable; retry (with the same Idempotency-Key).", retryAfter),
  };
}

/** Builds the OpenAPI 3.1 document from a descriptor registry (default: gen/payments.binpb). */
export function buildOpenApi(registry: FileRegistry = loadRegistry()): Json {
  const comments = new Comments(registry);
  const used = new Map<string, { message: DescMessage; role: Role }>();
  // A message read both ways is described as the API object (output wins).
  const use = (role: Role) => (m: DescMessage) => {
    const name = schemaName(m);
    const seen = used.get(name);
    if (seen && (seen.role === role || seen.role === "output")) return;
    used.set(name, { message: m, role });
    // Walk the message's own fields so nested types become components too.
    for (const f of m.fields) valueSchema(f, use(role));
  };
  const useOutput = use("output");
  const bodies: Record<string, Json> = {};
  const paths: Record<string, Json> = {};
  const tags: Json[] = [];
  const seenTags = new Set<string>();

  const methods = allMethods(registry).filter((m) => m.parent.file.proto.package === PACKAGE);
  for (const method of methods) {
    const service = method.parent;
    const tag = tagName(service);
    if (!seenTags.has(tag)) {
      seenTags.add(tag);
      const description = comments.service(service);
      tags.push(description ? { name: tag, description } : { name: tag });
    }
    const info = METHODS.get(`/${service.typeName}/${method.name}`);
    httpRules(registry, method).forEach((rule, index) => {
      const path = openApiPath(rule.path);
      paths[path] ??= {};
      (paths[path] as Json)[rule.method] = operation(method, rule, index, tag, info?.access, info?.mutating ?? rule.method !== "get");
    });
  }

  function operation(method: DescMethod, rule: HttpRule, index: number, tag: string, access: string | undefined, mutating: boolean): Json {
    const input = method.input;
    const description = comments.method(method);
    const op: Json = {
      operationId: index === 0 ? lowerFirst(method.name) : `${lowerFirst(method.name)}${index + 1}`,
      tags: [tag],
      summary: firstSentence(description),
      description: `${description}\n\n${accessNote(access)}`.trim(),
    };
    if (access === "public") op.security = [];

    const parameters: Json[] = [];
    const bound = new Set(pathVariables(rule.path));
    for (const name of bound) {
      const field = input.fields.find((f) => f.name === name);
      const text = field ? fieldText(comments.field(field)).text : "";
      parameters.push({
        name,
        in: "path",
        required: true,
        ...(text ? { description: text } : {}),
        schema: field ? valueSchema(field, useOutput) : { type: "string" },
      });
    }
    if (rule.body !== "*") {
      for (const field of input.fields) {
        if (bound.has(field.name) || field.name === rule.body) continue;
        parameters.push(...queryParameters(field, "", comments, useOutput));
      }
    }
    if (mutating) parameters.push({ $ref: "#/components/parameters/IdempotencyKey" });
    if (parameters.length > 0) op.parameters = parameters;

    if (rule.body === "*") {
      // The request message minus its path-bound fields; one component per distinct shape.
      const omitted = [...bound].sort();
      const name = omitted.length === 0 ? input.name : `${input.name}Body`;
      bodies[name] ??= objectSchema(input, "input", comments, use("input"), bound);
      op.requestBody = { required: true, content: { "application/json": { schema: { $ref: `#/components/schemas/${name}` } } } };
    } else if (rule.body) {
      const field = input.fields.find((f) => f.name === rule.body);
      if (field) op.requestBody = { required: true, content: { "application/json": { schema: valueSchema(field, use("input")) } } };
    }

    op.responses = { "200": successResponse(method, rule) };
    const errors = access === "public" ? ["404", "500"] : ERROR_STATUSES.map(([s]) => s).filter((s) => mutating || (s !== "402" && s !== "409"));
    for (const [status, name] of ERROR_STATUSES) {
      if (errors.includes(status)) (op.responses as Json)[status] = { $ref: `#/components/responses/${name}` };
    }
    return op;
  }

  function successResponse(method: DescMethod, rule: HttpRule): Json {
    const headers = { "Request-Id": { $ref: "#/components/headers/RequestId" } };
    const output = method.output;
    const field = rule.responseBody ? output.fields.find((f) => f.name === rule.responseBody) : undefined;
    const bodyMessage = field?.fieldKind === "message" ? field.message : undefined;
    if (bodyMessage?.typeName === "google.api.HttpBody") {
      return { description: fieldText(comments.field(field!)).text || "The page.", headers, content: { "text/html": { schema: { type: "string" } } } };
    }
    const description = field ? fieldText(comments.field(field)).text : comments.message(output);
    const schema = bodyMessage ? messageValue(bodyMessage, useOutput) : messageValue(output, useOutput);
    if (method.methodKind === "server_streaming") {
      return {
        description: `${description} A Server-Sent Events stream: each \`data:\` line is one \`${schemaName(bodyMessage ?? output)}\` as JSON.`,
        headers,
        content: { "text/event-stream": { schema: { type: "string" } } },
      };
    }
    const replay = method.methodKind === "unary" && !/^(Get|List)/.test(method.name) ? { "Idempotent-Replayed": { $ref: "#/components/headers/IdempotentReplayed" } } : {};
    return { description: description || "OK", headers: { ...headers, ...replay }, content: { "application/json": { schema } } };
  }

  const errorResponse = registry.getMessage(ERROR_RESPONSE);
  const errorDetail = registry.getMessage(ERROR_DETAIL);
  if (errorResponse) useOutput(errorResponse);
  if (errorDetail) useOutput(errorDetail);

  const schemas: Json = {};
  const all = new Map<string, Json>(Object.entries(bodies));
  for (const [name, { message, role }] of used) all.set(name, objectSchema(message, role, comments, () => {}));
  for (const name of [...all.keys()].sort()) schemas[name] = all.get(name);

  // Operation order in `paths` follows the descriptor set; sort paths for a stable, readable document.
  const sortedPaths: Json = {};
  for (const p of Object.keys(paths).sort()) sortedPaths[p] = paths[p];

  return {
    openapi: "3.1.0",
    info: {
      title: "Payment Service API",
      version: "v1",
      description: [
        "A Stripe-shaped payments API. Amounts are integers in the currency's minor unit (2000 is $20.00); timestamps are Unix seconds.",
        "",
        "Authenticate with an API key as a bearer token: `Authorization: Bearer sk_test_...`. Secret keys (`sk_`) may call every route; publishable keys (`pk_`) only those that say so. Test keys (`_test_`) see test-mode objects only.",
        "",
        "Every POST accepts an `Idempotency-Key` header: a retry with the same key and the same parameters returns the first result, without doing the work twice.",
        "",
        "Errors are `{\"error\": {\"type\", \"code\", \"message\", \"decline_code\", \"param\", \"request_id\"}}` with the HTTP status of their type (402 for `card_error`).",
        "",
        "Generated from the protobuf contract (`proto/payments/v1`): the descriptions are its comments.",
      ].join("\n"),
    },
    servers: [{ url: "/", description: "This server" }],
    security: [{ bearerAuth: [] }],
    tags,
    paths: sortedPaths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description: "An API key: `sk_test_...`, `sk_live_...`, `pk_test_...` or `pk_live_...`.",
        },
      },
      parameters: {
        IdempotencyKey: {
          name: "Idempotency-Key",
          in: "header",
          required: false,
          description:
            "A unique key (up to 255 characters) that makes retries safe: the same key with the same parameters returns the first response; with other parameters it is an `idempotency_error`. Keys expire after 24 hours.",
          schema: { type: "string", maxLength: 255 },
        },
      },
      headers: {
        RequestId: { description: "The request's id (`req_...`), also the `request_id` of error bodies.", schema: { type: "string" } },
        RetryAfter: { description: "Seconds to wait before retrying.", schema: { type: "integer", minimum: 0 } },
        RateLimitLimit: { description: "Requests allowed per window for this API key and route class.", schema: { type: "integer" } },
        RateLimitRemaining: { description: "Requests left in the current window.", schema: { type: "integer" } },
        RateLimitReset: { description: "Seconds until the window resets.", schema: { type: "integer" } },
        IdempotentReplayed: { description: "`true` when this response is the stored result of an earlier request with the same Idempotency-Key.", schema: { type: "string", enum: ["true"] } },
      },
      responses: errorResponses(),
      schemas,
    },
  };
}
