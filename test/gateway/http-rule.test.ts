// The HttpRule path-template grammar and the router: parsing, matching,
// variable bindings, custom verbs and literal-before-wildcard precedence.
import { describe, expect, it } from "vitest";
import { Router, TemplateError, parseTemplate } from "../../gateway/http-rule";

describe("parseTemplate", () => {
  it("parses literals and a simple variable", () => {
    const t = parseTemplate("/v1/payment_intents/{id}/confirm");
    expect(t.segments).toEqual([
      { kind: "literal", value: "v1" },
      { kind: "literal", value: "payment_intents" },
      { kind: "star" },
      { kind: "literal", value: "confirm" },
    ]);
    expect(t.variables).toEqual([{ fieldPath: ["id"], start: 2, end: 3 }]);
    expect(t.verb).toBe("");
  });

  it("parses a variable with a sub-template and a nested field path", () => {
    const t = parseTemplate("/v1/{book.name=shelves/*/books/*}");
    expect(t.segments.map((s) => s.kind)).toEqual(["literal", "literal", "star", "literal", "star"]);
    expect(t.variables).toEqual([{ fieldPath: ["book", "name"], start: 1, end: 5 }]);
  });

  it("parses ** (to the end) and custom verbs", () => {
    const t = parseTemplate("/v1/{name=files/**}:download");
    expect(t.segments.map((s) => s.kind)).toEqual(["literal", "literal", "doubleStar"]);
    expect(t.variables).toEqual([{ fieldPath: ["name"], start: 1, end: -1 }]);
    expect(t.verb).toBe("download");
    expect(parseTemplate("/v1/things:batchGet").verb).toBe("batchGet");
    expect(parseTemplate("/v1/*/x").segments[1]).toEqual({ kind: "star" });
  });

  it.each([
    ["v1/x", "must start with /"],
    ["/v1/{id", "unclosed"],
    ["/v1/**/x", "** must be the last"],
    ["/v1/{a}/{a}", "bound twice"],
    ["/v1/{a={b}}", "nested"],
    ["/v1/{1a}", "bad field path"],
    ["/v1/a b", "bad literal"],
    ["/v1/x:", "bad verb"],
  ])("rejects %s", (template, reason) => {
    expect(() => parseTemplate(template)).toThrow(TemplateError);
    expect(() => parseTemplate(template)).toThrow(reason);
  });
});

describe("Router", () => {
  const router = new Router<string>();
  router.add("get", "/v1/events/{id}", "GetEvent");
  router.add("get", "/v1/events/stream", "StreamEvents");
  router.add("get", "/v1/events", "ListEvents");
  router.add("post", "/v1/payment_intents/{id}/confirm", "Confirm");
  router.add("post", "/v1/payment_intents/{id}", "Update");
  router.add("get", "/v1/{name=shelves/*/books/*}", "GetBook");
  router.add("get", "/v1/files/{path=**}", "GetFile");
  router.add("get", "/v1/files/{path=**}:meta", "GetFileMeta");
  router.add("post", "/v1/things/{id}:cancel", "CancelThing");
  router.add("get", "/v1/things/{id}", "GetThing");
  router.add("get", "/v1/*/wild", "Wild");

  const m = (method: string, path: string) => {
    const found = router.match(method, path);
    return found && { value: found.value, bindings: Object.fromEntries(found.bindings.map((b) => [b.fieldPath.join("."), b.value])) };
  };

  it("binds simple variables", () => {
    expect(m("GET", "/v1/events/evt_1")).toEqual({ value: "GetEvent", bindings: { id: "evt_1" } });
    expect(m("POST", "/v1/payment_intents/pi_1/confirm")).toEqual({ value: "Confirm", bindings: { id: "pi_1" } });
    expect(m("POST", "/v1/payment_intents/pi_1")).toEqual({ value: "Update", bindings: { id: "pi_1" } });
  });

  it("prefers a literal segment over a variable, whatever the declaration order", () => {
    expect(m("GET", "/v1/events/stream")).toEqual({ value: "StreamEvents", bindings: {} });
    const reversed = new Router<string>();
    reversed.add("GET", "/v1/events/stream", "StreamEvents");
    reversed.add("GET", "/v1/events/{id}", "GetEvent");
    expect(reversed.match("GET", "/v1/events/stream")?.value).toBe("StreamEvents");
    expect(reversed.match("GET", "/v1/events/evt_2")?.value).toBe("GetEvent");
  });

  it("prefers * over ** and backtracks when a literal branch dead-ends", () => {
    const r = new Router<string>();
    r.add("GET", "/a/b/c", "abc");
    r.add("GET", "/a/*/d", "a*d");
    r.add("GET", "/a/**", "a**");
    expect(r.match("GET", "/a/b/c")?.value).toBe("abc");
    expect(r.match("GET", "/a/b/d")?.value).toBe("a*d");
    expect(r.match("GET", "/a/b/e/f")?.value).toBe("a**");
  });

  it("binds multi-segment variables and **", () => {
    expect(m("GET", "/v1/shelves/s1/books/b2")).toEqual({ value: "GetBook", bindings: { name: "shelves/s1/books/b2" } });
    expect(m("GET", "/v1/shelves/s1/books")).toBeUndefined();
    expect(m("GET", "/v1/files/a/b/c.txt")).toEqual({ value: "GetFile", bindings: { path: "a/b/c.txt" } });
    expect(m("GET", "/v1/files/a/b:meta")).toEqual({ value: "GetFileMeta", bindings: { path: "a/b" } });
  });

  it("matches custom verbs, and a colon without a verb route stays part of the segment", () => {
    expect(m("POST", "/v1/things/t1:cancel")).toEqual({ value: "CancelThing", bindings: { id: "t1" } });
    expect(m("POST", "/v1/things/t1:explode")).toBeUndefined();
    expect(m("GET", "/v1/things/t1:x")).toEqual({ value: "GetThing", bindings: { id: "t1:x" } });
    expect(m("POST", "/v1/things/t1")).toBeUndefined();
  });

  it("percent-decodes single-segment values, keeps %2F in multi-segment ones", () => {
    expect(m("GET", "/v1/events/evt%5F1%20x")?.bindings).toEqual({ id: "evt_1 x" });
    expect(m("GET", "/v1/files/a%2Fb/c%20d")?.bindings).toEqual({ path: "a%2Fb/c d" });
  });

  it("matches * in any position, never an empty segment", () => {
    expect(m("GET", "/v1/anything/wild")?.value).toBe("Wild");
    expect(m("GET", "/v1//wild")).toBeUndefined();
    expect(m("GET", "/v1/events/")).toBeUndefined();
  });

  it("tells which methods a path allows (for 405)", () => {
    expect(router.allowed("/v1/payment_intents/pi_1").sort()).toEqual(["POST"]);
    expect(router.allowed("/v1/events/evt_1")).toEqual(["GET"]);
    expect(router.allowed("/nope")).toEqual([]);
    expect(m("DELETE", "/v1/events/evt_1")).toBeUndefined();
  });

  it("refuses the same route twice", () => {
    const r = new Router<string>();
    r.add("GET", "/v1/x/{id}", "a");
    expect(() => r.add("GET", "/v1/x/{other}", "b")).toThrow("duplicate route");
    r.add("GET", "/v1/x/{id}:verb", "c");
  });
});
