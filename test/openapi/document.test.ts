// The OpenAPI document: valid OpenAPI 3.1 (checked by a JSON-schema validator
// of the OpenAPI spec), in step with the contract (docs/openapi.json is what
// the generator prints now), covering every route, with the JSON types that
// merchants get.
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { allMethods, httpRules, loadRegistry } from "../../gateway/descriptors";
import { allowedValues, buildOpenApi } from "../../gateway/openapi/openapi";
import { OPENAPI_ROUTES_FROM_SPEC } from "./spec-routes";

type Json = Record<string, any>;
const doc = buildOpenApi() as Json;
const schemas = doc.components.schemas as Json;

function operations(d: Json): string[] {
  return Object.entries(d.paths as Json).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
}

describe("OpenAPI document", () => {
  it("is valid OpenAPI 3.1", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    // Every $ref resolves.
    expect(() => validator.resolveRefs()).not.toThrow();
    // ...and the validator does reject a broken document.
    const broken = structuredClone(doc);
    broken.paths["/v1/charges"].get.responses = { "200": { content: 5 } };
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it("is what `npm run gen` wrote to docs/openapi.json", () => {
    const onDisk = readFileSync(new URL("../../docs/openapi.json", import.meta.url), "utf8");
    expect(onDisk).toBe(`${JSON.stringify(doc, null, 2)}\n`);
  });

  it("has every route of the API design", () => {
    const ops = operations(doc);
    for (const route of OPENAPI_ROUTES_FROM_SPEC) expect(ops).toContain(route);
  });

  it("has exactly the routes of the HttpRules", () => {
    const registry = loadRegistry();
    const fromRules = allMethods(registry)
      .filter((m) => m.parent.file.proto.package === "payments.v1")
      .flatMap((m) => httpRules(registry, m).map((r) => `${r.method.toUpperCase()} ${r.path}`));
    expect(operations(doc).sort()).toEqual(fromRules.sort());
  });

  it("types fields as canonical JSON prints them", () => {
    const pi = schemas.PaymentIntent.properties;
    expect(pi.amount).toMatchObject({ type: "integer", format: "int32" });
    expect(pi.created).toMatchObject({ type: "integer", minimum: 0 });
    expect(pi.metadata).toMatchObject({ type: "object", additionalProperties: { type: "string" } });
    expect(pi.payment_method_types).toMatchObject({ type: "array", items: { type: "string" } });
    expect(pi.status.enum).toEqual([
      "requires_payment_method",
      "requires_confirmation",
      "requires_action",
      "processing",
      "requires_capture",
      "canceled",
      "succeeded",
    ]);
    expect(pi.capture_method.enum).toEqual(["automatic", "manual"]);
    expect(pi.charges).toMatchObject({ $ref: "#/components/schemas/ChargeList" });
    expect(pi.livemode).toMatchObject({ type: "boolean" });
    // Always printed: required. Optional (explicit presence) and messages: not required.
    expect(schemas.PaymentIntent.required).toEqual(expect.arrayContaining(["id", "object", "amount", "currency", "status", "metadata"]));
    expect(schemas.PaymentIntent.required).not.toContain("description");
    expect(schemas.PaymentIntent.required).not.toContain("charges");
    expect(schemas.Event.properties.data.$ref).toBe("#/components/schemas/EventData");
    expect(schemas.EventData.properties.object).toMatchObject({ type: "object", additionalProperties: true });
  });

  it("documents request bodies without their path parameters, required fields from the comments", () => {
    const create = doc.paths["/v1/payment_intents"].post;
    expect(create.requestBody.content["application/json"].schema.$ref).toBe("#/components/schemas/CreatePaymentIntentRequest");
    expect(schemas.CreatePaymentIntentRequest.required).toEqual(["amount", "currency"]);
    const confirm = doc.paths["/v1/payment_intents/{id}/confirm"].post;
    const body = schemas[confirm.requestBody.content["application/json"].schema.$ref.split("/").pop()];
    expect(Object.keys(body.properties)).not.toContain("id");
    expect(confirm.parameters[0]).toMatchObject({ name: "id", in: "path", required: true });
    expect(schemas.CardInput.required).toEqual(["number", "exp_month", "exp_year"]);
  });

  it("unwraps response_body and keeps lists whole", () => {
    expect(doc.paths["/v1/payment_intents/{id}"].get.responses["200"].content["application/json"].schema.$ref).toBe(
      "#/components/schemas/PaymentIntent",
    );
    expect(doc.paths["/v1/payment_intents"].get.responses["200"].content["application/json"].schema.$ref).toBe(
      "#/components/schemas/ListPaymentIntentsResponse",
    );
    expect(doc.paths["/receipts/{charge_id}"].get.responses["200"].content).toHaveProperty("text/html");
    expect(doc.paths["/v1/events/stream"].get.responses["200"].content).toHaveProperty("text/event-stream");
  });

  it("takes GET parameters from the query string", () => {
    const list = doc.paths["/v1/payment_intents"].get;
    expect(list.parameters.map((p: Json) => `${p.in}:${p.name}`)).toEqual([
      "query:limit",
      "query:starting_after",
      "query:ending_before",
      "query:customer",
    ]);
    expect(list.parameters[0].schema).toMatchObject({ type: "integer" });
    const stream = doc.paths["/v1/events/stream"].get;
    expect(stream.parameters.find((p: Json) => p.name === "types")).toMatchObject({ in: "query", schema: { type: "array" }, explode: true });
  });

  it("describes auth, idempotency and errors", () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths["/receipts/{charge_id}"].get.security).toEqual([]);
    for (const [path, ops] of Object.entries(doc.paths as Json)) {
      for (const [method, op] of Object.entries(ops as Json)) {
        const refs = (op.parameters ?? []).map((p: Json) => p.$ref);
        if (method === "post") expect(refs, `${method} ${path}`).toContain("#/components/parameters/IdempotencyKey");
        if (path.startsWith("/v1/")) {
          expect(op.responses["400"], `${method} ${path}`).toEqual({ $ref: "#/components/responses/InvalidRequest" });
          expect(op.responses["401"]).toBeDefined();
        }
      }
    }
    expect(doc.paths["/v1/payment_intents/{id}/confirm"].post.responses["402"]).toEqual({ $ref: "#/components/responses/CardError" });
    expect(doc.components.responses.CardError.content["application/json"].schema.$ref).toBe("#/components/schemas/ErrorResponse");
    const detail = schemas.ErrorDetail;
    expect(Object.keys(detail.properties)).toEqual(expect.arrayContaining(["type", "code", "message", "decline_code", "param", "request_id"]));
    expect(detail.properties.type.enum).toEqual([
      "invalid_request_error",
      "authentication_error",
      "card_error",
      "rate_limit_error",
      "idempotency_error",
      "api_error",
    ]);
    expect(detail.required).toEqual(["type", "code", "message"]);
  });

  it("carries the proto comments as descriptions", () => {
    const confirm = doc.paths["/v1/payment_intents/{id}/confirm"].post;
    expect(confirm.summary).toBe("Confirms that the customer intends to pay with the attached or given payment method, and attempts the payment");
    expect(schemas.PaymentIntent.properties.client_secret.description).toContain("Do not log or store it.");
    expect(doc.tags.find((t: Json) => t.name === "Payment intents").description).toContain("A PaymentIntent guides one payment");
  });

  it("reads allowed values only from comments that are just a list", () => {
    expect(allowedValues("`a`, `b` or `c`.")).toEqual(["a", "b", "c"]);
    expect(allowedValues("Card brand: `visa` or `amex`.")).toEqual(["visa", "amex"]);
    expect(allowedValues("`succeed` (default) or `fail`: how it ends.")).toEqual(["succeed", "fail"]);
    expect(allowedValues("A code, for example `card_declined`, `expired_card`.")).toBeUndefined();
    expect(allowedValues("The event type, for example `payment_intent.succeeded`.")).toBeUndefined();
    expect(allowedValues("Free text.")).toBeUndefined();
  });
});
