// The gateway routes any annotated RPC from its descriptors alone: a test
// proto the gateway code has never seen (fixtures/shelves.proto, compiled
// here with buf) is served over REST with its path templates, query mapping,
// body rules, additional bindings, HttpBody and server streaming.
import { request as httpRequest, type Server } from "node:http";
import { create, fromBinary, toBinary, toJson, type DescMessage, type FileRegistry, type JsonValue } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway } from "../../gateway/server";
import { encodeStatusDetails } from "../../server/errors";
import type { CallResult, Dispatcher, Metadata } from "../../server/pipeline/types";
import { call, closeServer, compileProto, listenLocal } from "./support";

let registry: FileRegistry;
let server: Server;
let base: string;
/** What the test service received, decoded: the proof of the request mapping. */
const received: { method: string; request: JsonValue; metadata: Metadata }[] = [];

const msg = (name: string): DescMessage => registry.getMessage(`gwtest.v1.${name}`)!;
const ok = (schema: DescMessage, value: object, headers: Record<string, string> = {}): CallResult => ({
  code: 0,
  message: "",
  response: toBinary(schema, create(schema, value as never)),
  headers: { "request-id": "req_shelves0000000000000001", ...headers },
});

/** A small real implementation of the test service over wire bytes. */
const shelves: Dispatcher = {
  async unary(path, bytes, metadata) {
    const name = path.slice(path.lastIndexOf("/") + 1);
    const service = registry.getService("gwtest.v1.ShelfService")!;
    const method = service.methods.find((m) => m.name === name)!;
    const request = fromBinary(method.input, bytes) as any;
    received.push({ method: name, request: toJson(method.input, request, { useProtoFieldName: true }), metadata });
    switch (name) {
      case "GetBook": {
        if (request.name.endsWith("missing")) {
          const detail = { type: "invalid_request_error", code: "resource_missing", message: `No such book: '${request.name}'`, param: "name" };
          return { code: 5, message: detail.message, statusDetails: encodeStatusDetails(5, detail.message, detail), headers: { "request-id": "req_shelves0000000000000404" } };
        }
        if (request.name.endsWith("declined")) {
          const detail = { type: "card_error", code: "card_declined", message: "Your card was declined.", decline_code: "insufficient_funds" };
          return { code: 9, message: detail.message, error: { ...detail, request_id: "req_shelves0000000000000402" }, headers: { "request-id": "req_shelves0000000000000402" } };
        }
        return ok(msg("Book"), { name: request.name, title: "Dune", pages: 412, isbn: 9780441013593n });
      }
      case "ListBooks":
      case "ListSpecialBooks":
        return ok(msg("ListBooksResponse"), { books: [{ name: `${request.shelf || "special"}/b1`, tags: request.tags }], hasMore: true }, { "ratelimit-limit": "100" });
      case "CreateBook":
        return ok(msg("Book"), { ...request.book, name: `shelves/${request.shelf}/books/new` });
      case "PublishBook":
        return ok(msg("PublishBookResponse"), { book: { name: request.id, title: request.channel }, copies: 3 });
      case "GetCover":
        return ok(registry.getMessage("google.api.HttpBody")!, { contentType: "image/svg+xml", data: new TextEncoder().encode(`<svg id="${request.id}"/>`) });
    }
    return { code: 12, message: "unimplemented", headers: {} };
  },
  async serverStream(path, bytes, metadata, sink) {
    const request = fromBinary(msg("ListBooksRequest"), bytes) as any;
    received.push({ method: "WatchBooks", request: toJson(msg("ListBooksRequest"), request, { useProtoFieldName: true }), metadata });
    sink.sendHeaders({ "request-id": "req_shelves0000000000000sse" });
    for (let i = 1; i <= request.pageSize; i++) {
      await sink.write(toBinary(msg("Book"), create(msg("Book"), { name: `b${i}` })));
    }
    return { code: 0, message: "", headers: {} };
  },
};

beforeAll(async () => {
  registry = compileProto(new URL("./fixtures/shelves.proto", import.meta.url).pathname);
  server = createGateway({
    dispatcher: shelves,
    registry,
    extraRoutes: [
      {
        method: "GET",
        path: "/healthz",
        handle: (_req, res) => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end('{"status":"ok"}');
        },
      },
      // Beside an annotated path: the extra route wins for its exact method and path.
      { method: "POST", path: "/v1/shelves/special/books", handle: (_req, res) => void res.end("extra") },
    ],
  });
  base = await listenLocal(server);
});
afterAll(() => closeServer(server));

const last = () => received[received.length - 1];

describe("a new annotated service, routed without touching the gateway", () => {
  it("routes a multi-segment variable and prints canonical JSON (proto names, implicit fields, int64 as string)", async () => {
    const res = await call(base, "GET", "/v1/shelves/s1/books/b2");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("request-id")).toBe("req_shelves0000000000000001");
    expect(last()).toMatchObject({ method: "GetBook", request: { name: "shelves/s1/books/b2" } });
    expect(res.text).toBe('{"name":"shelves/s1/books/b2","title":"Dune","pages":412,"tags":[],"draft":false,"isbn":"9780441013593"}');
  });

  it("serves additional_bindings (with **)", async () => {
    const res = await call(base, "GET", "/v1/books/a/b/c");
    expect(res.status).toBe(200);
    expect(last().request).toEqual({ name: "a/b/c" });
  });

  it("maps the query string: scalars, repeated values, dotted nested fields, bools, JSON names", async () => {
    const res = await call(base, "GET", "/v1/shelves/s9/books?page_size=5&tags=a&tags=b%20c&filter.author=Herbert&filter.minPages=100&include_drafts=true");
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-limit")).toBe("100");
    expect(last().request).toEqual({
      shelf: "s9",
      page_size: 5,
      tags: ["a", "b c"],
      filter: { author: "Herbert", min_pages: 100 },
      include_drafts: true,
    });
    expect(res.json).toEqual({ books: [{ name: "s9/b1", title: "", pages: 0, tags: ["a", "b c"], draft: false, isbn: "0" }], has_more: true });
  });

  it("serves extra routes (with a Request-Id) before annotated ones", async () => {
    const health = await call(base, "GET", "/healthz");
    expect(health.json).toEqual({ status: "ok" });
    expect(health.headers.get("request-id")).toMatch(/^req_[0-9a-f]{24}$/);
    expect((await call(base, "POST", "/v1/shelves/special/books", {})).text).toBe("extra");
    expect((await call(base, "POST", "/v1/shelves/other/books", {})).json).toMatchObject({ name: "shelves/other/books/new" });
  });

  it("prefers the literal route over the variable one", async () => {
    await call(base, "GET", "/v1/shelves/special/books");
    expect(last().method).toBe("ListSpecialBooks");
    await call(base, "GET", "/v1/shelves/other/books");
    expect(last().method).toBe("ListBooks");
  });

  it("rejects unknown, path-bound and non-scalar query parameters, and bad values, naming them", async () => {
    for (const [query, param, code] of [
      ["colour=red", "colour", "parameter_unknown"],
      ["shelf=x", "shelf", "parameter_unknown"],
      ["filter=x", "filter", "parameter_unknown"],
      ["filter.nope=1", "filter.nope", "parameter_unknown"],
      ["page_size=abc", "page_size", "parameter_invalid"],
      ["include_drafts=maybe", "include_drafts", "parameter_invalid"],
    ]) {
      const res = await call(base, "GET", `/v1/shelves/s1/books?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.json.error, query).toMatchObject({ type: "invalid_request_error", code, param });
      expect(res.json.error.request_id).toMatch(/^req_[0-9a-f]{24}$/);
      expect(res.headers.get("request-id")).toBe(res.json.error.request_id);
    }
  });

  it('fills the named field from the body with body: "field", the rest from the path', async () => {
    const res = await call(base, "POST", "/v1/shelves/s1/books", { title: "Emma", pages: 300, author: { name: "Austen" } });
    expect(res.status).toBe(200);
    expect(last().request).toEqual({ shelf: "s1", book: { title: "Emma", pages: 300, author: { name: "Austen" } } });
    expect(res.json).toMatchObject({ name: "shelves/s1/books/new", title: "Emma", author: { name: "Austen", born: 0 } });
  });

  it('takes the whole body with body: "*", a custom verb, and response_body selects the field', async () => {
    const res = await call(base, "POST", "/v1/shelves/s1/books/b7:publish", { channel: "web", regions: [1, 2] });
    expect(res.status).toBe(200);
    expect(last().request).toEqual({ shelf: "s1", id: "b7", channel: "web", regions: [1, 2] });
    expect(res.text).toBe('{"name":"b7","title":"web","pages":0,"tags":[],"draft":false,"isbn":"0"}');
    // The body may repeat a path variable, not contradict it.
    const same = await call(base, "POST", "/v1/shelves/s1/books/b7:publish", { id: "b7", channel: "web" });
    expect(same.status).toBe(200);
    const clash = await call(base, "POST", "/v1/shelves/s1/books/b7:publish", { id: "b8" });
    expect(clash.status).toBe(400);
    expect(clash.json.error).toMatchObject({ code: "parameter_invalid", param: "id" });
    // With body "*", every field comes from the body: query parameters are unknown.
    const q = await call(base, "POST", "/v1/shelves/s1/books/b7:publish?channel=x", {});
    expect(q.json.error).toMatchObject({ code: "parameter_unknown", param: "channel" });
  });

  it("names the field that does not fit, nested and in arrays", async () => {
    const cases: [unknown, string, string][] = [
      [{ channel: 5 }, "channel", "parameter_invalid"],
      [{ regions: ["x"] }, "regions", "parameter_invalid"],
      [{ regions: 3 }, "regions", "parameter_invalid"],
      [{ nope: 1 }, "nope", "parameter_unknown"],
    ];
    for (const [body, param, code] of cases) {
      const res = await call(base, "POST", "/v1/shelves/s1/books/b7:publish", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error, JSON.stringify(body)).toMatchObject({ type: "invalid_request_error", code, param });
    }
    const nested = await call(base, "POST", "/v1/shelves/s1/books", { author: { born: "long ago" } });
    expect(nested.json.error).toMatchObject({ code: "parameter_invalid", param: "book.author.born" });
    const unknownNested = await call(base, "POST", "/v1/shelves/s1/books", { author: { died: 1817 } });
    expect(unknownNested.json.error).toMatchObject({ code: "parameter_unknown", param: "book.author.died" });
    const notObject = await call(base, "POST", "/v1/shelves/s1/books/b7:publish", [1, 2]);
    expect(notObject.json.error).toMatchObject({ code: "parameter_invalid", param: "body" });
  });

  it("sends a google.api.HttpBody raw with its content type", async () => {
    const res = await call(base, "GET", "/v1/covers/c1");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/svg+xml");
    expect(res.text).toBe('<svg id="c1"/>');
  });

  it("maps status details to the error body, and card_error to 402", async () => {
    const missing = await call(base, "GET", "/v1/books/missing");
    expect(missing.status).toBe(404);
    expect(missing.text).toBe(
      '{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such book: \'missing\'","param":"name","request_id":"req_shelves0000000000000404"}}',
    );
    expect(missing.headers.get("request-id")).toBe("req_shelves0000000000000404");
    const declined = await call(base, "GET", "/v1/books/declined");
    expect(declined.status).toBe(402);
    expect(declined.json).toEqual({
      error: {
        type: "card_error",
        code: "card_declined",
        message: "Your card was declined.",
        decline_code: "insufficient_funds",
        request_id: "req_shelves0000000000000402",
      },
    });
  });

  it("forwards request headers as lower-case metadata without hop-by-hop headers", async () => {
    // node:http, because fetch refuses to send hop-by-hop headers at all.
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${base}/v1/books/x`, {
        headers: {
          Authorization: "Bearer sk_test_x",
          "Idempotency-Key": "k1",
          "X-Request-Id": "req_fromclient0001",
          "User-Agent": "ua/1",
          "X-Custom": "v",
          "Keep-Alive": "timeout=5",
          Connection: "keep-alive, x-hop",
          "X-Hop": "1",
        },
      });
      req.on("response", (res) => res.resume().on("end", resolve));
      req.on("error", reject);
      req.end();
    });
    const md = last().metadata;
    expect(md).not.toHaveProperty("x-hop");
    expect(md).toMatchObject({ authorization: "Bearer sk_test_x", "idempotency-key": "k1", "x-request-id": "req_fromclient0001", "user-agent": "ua/1", "x-custom": "v" });
    expect(md).not.toHaveProperty("host");
    expect(md).not.toHaveProperty("connection");
    expect(md).not.toHaveProperty("keep-alive");
  });

  it("streams a server-streaming RPC as Server-Sent Events", async () => {
    const res = await call(base, "GET", "/v1/books:watch?page_size=3");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(res.headers.get("request-id")).toBe("req_shelves0000000000000sse");
    const book = (n: string) => `data: {"name":"${n}","title":"","pages":0,"tags":[],"draft":false,"isbn":"0"}\n\n`;
    expect(res.text).toBe(book("b1") + book("b2") + book("b3"));
  });

  it("answers 404 for unknown routes and 405 with Allow for known paths, in the error format", async () => {
    const notFound = await call(base, "GET", "/v1/nothing/here");
    expect(notFound.status).toBe(404);
    expect(notFound.json.error).toMatchObject({ type: "invalid_request_error", code: "route_not_found" });
    expect(notFound.headers.get("request-id")).toBe(notFound.json.error.request_id);
    const wrong = await call(base, "DELETE", "/v1/shelves/s1/books");
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, POST");
    expect(wrong.json.error).toMatchObject({ type: "invalid_request_error", code: "method_not_allowed" });
  });
});
