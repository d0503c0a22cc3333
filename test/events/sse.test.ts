// The event stream over REST as Server-Sent Events through the Node gateway:
// each event once, in commit order, and a reconnect with the last id misses nothing.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway } from "../../gateway/server";
import { BACKENDS, startTestCore, type TestCore } from "../support/core";
import { waitFor } from "../webhooks/support";

/** An SSE connection and the events parsed from it. */
interface SseStream {
  events: Array<Record<string, any>>;
  status?: number;
  contentType?: string | null;
  close(): void;
}

function openSse(url: string, key: string): SseStream {
  const abort = new AbortController();
  const s: SseStream = { events: [], close: () => abort.abort() };
  void (async () => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${key}` }, signal: abort.signal });
    s.status = res.status;
    s.contentType = res.headers.get("content-type");
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame
          .split("\n")
          .filter((l) => l.startsWith("data: "))
          .map((l) => l.slice(6))
          .join("\n");
        if (data) s.events.push(JSON.parse(data));
      }
    }
  })().catch(() => undefined);
  return s;
}

describe.each(BACKENDS)("event stream over SSE (%s)", (backend) => {
  let core: TestCore;
  let gateway: Server;
  let base: string;
  const post = async (path: string, form: Record<string, string>) => {
    const res = await fetch(`${base}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${core.keys.secret}`, "content-type": "application/json" },
      body: JSON.stringify(form),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, any>;
  };

  beforeAll(async () => {
    core = await startTestCore({ backend, webhookWorker: false });
    gateway = createGateway({ dispatcher: core.pipeline });
    await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    gateway?.closeAllConnections();
    await new Promise((r) => gateway?.close(r));
    await core?.close();
  });

  it("streams events in commit order and resumes from the last id", async () => {
    await post("/v1/customers", { email: "sse-start@example.com" });
    const list: any = await (await fetch(`${base}/v1/events?limit=1`, { headers: { authorization: `Bearer ${core.keys.secret}` } })).json();
    const startId = list.data[0].id as string;

    const first = openSse(`${base}/v1/events/stream?starting_after=${startId}`, core.keys.secret);
    const made = await Promise.all(Array.from({ length: 8 }, (_, i) => post("/v1/customers", { email: `sse${i}@example.com` })));
    await waitFor(() => first.events.length >= 8, 10_000, "8 SSE events");
    expect(first.status).toBe(200);
    expect(first.contentType).toBe("text/event-stream");
    first.close();
    expect(first.events[0]).toMatchObject({ object: "event", type: "customer.created", livemode: false });
    expect(Object.keys(first.events[0]).sort()).toEqual(["created", "data", "id", "livemode", "object", "pending_webhooks", "request", "type"]);

    const lastId = first.events.at(-1)!.id as string;
    const away = await Promise.all(Array.from({ length: 4 }, (_, i) => post("/v1/customers", { email: `sse-away${i}@example.com` })));
    const second = openSse(`${base}/v1/events/stream?starting_after=${lastId}&types=customer.created`, core.keys.secret);
    await waitFor(() => second.events.length >= 4, 10_000, "4 SSE events after reconnect");
    second.close();

    const all = [...first.events, ...second.events];
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
    expect(new Set(all.map((e) => e.data.object.id))).toEqual(new Set([...made, ...away].map((c) => c.id)));
    const listed: any = await (await fetch(`${base}/v1/events?limit=100&ending_before=${startId}`, { headers: { authorization: `Bearer ${core.keys.secret}` } })).json();
    const order = (listed.data as Array<{ id: string }>).map((e) => e.id).reverse();
    expect(all.map((e) => e.id)).toEqual(order.slice(0, all.length));
  });

  it("opens the stream before any event arrives", async () => {
    const abort = new AbortController();
    const res = await fetch(`${base}/v1/events/stream?types=charge.refunded`, {
      headers: { authorization: `Bearer ${core.keys.secret}` },
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(res.headers.get("request-id")).toMatch(/^req_/);
    abort.abort();
  });

  it("answers a bad request in the spec's error format", async () => {
    const res = await fetch(`${base}/v1/events/stream?starting_after=evt_missing`, { headers: { authorization: `Bearer ${core.keys.secret}` } });
    expect(res.status).toBe(404);
    const body: any = await res.json();
    expect(body.error).toMatchObject({ type: "invalid_request_error", code: "resource_missing", param: "starting_after" });
  });
});
