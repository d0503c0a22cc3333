// Test helpers for webhooks: the API design's verify_webhook_signature,
// re-implemented line for line, and real HTTP receivers on 127.0.0.1.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Python's int() on a decimal string (surrounding whitespace and a sign allowed), else it raises. */
function pyInt(value: string): number {
  if (!/^\s*[+-]?\d+\s*$/.test(value)) throw new Error(`ValueError: invalid literal for int(): '${value}'`);
  return parseInt(value.trim(), 10);
}

/** hmac.compare_digest for ASCII strings: constant time in the length of the expected value. */
function compareDigest(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}

/**
 * The API design's verify_webhook_signature, exactly: parse `t` and every
 * `v*` entry, refuse a timestamp more than 300 s from now, then compare the
 * hex HMAC-SHA256 of "<t>.<payload>" with each signature. `nowSeconds`
 * stands in for `int(time.time())`. Like the Python, a malformed element
 * (no "=") or a non-integer `t` raises.
 */
export function verifyWebhookSignature(payload: string, signature: string, secret: string, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
  const elements = signature.split(",");
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const element of elements) {
    const at = element.indexOf("=");
    if (at < 0) throw new Error("ValueError: not enough values to unpack");
    const key = element.slice(0, at);
    const value = element.slice(at + 1);
    if (key === "t") timestamp = pyInt(value);
    else if (key.startsWith("v")) signatures.push(value);
  }
  if (!timestamp || signatures.length === 0) return false;
  if (Math.abs(nowSeconds - timestamp) > 300) return false;
  const signedPayload = `${timestamp}.${payload}`;
  const expected = createHmac("sha256", Buffer.from(secret, "utf8")).update(Buffer.from(signedPayload, "utf8")).digest("hex");
  return signatures.some((s) => compareDigest(expected, s));
}

/** One request a receiver got. */
export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  /** Arrival time, ms. */
  at: number;
  /** The status the receiver answered. */
  status: number;
}

/** A real HTTP receiver. */
export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** Decides the status of each request (default 200). */
  respond: (req: { body: string; headers: IncomingHttpHeaders; index: number }) => number | Promise<number>;
  close(): Promise<void>;
}

/** Starts a receiver on 127.0.0.1 (port 0 unless given: a restarted receiver reuses its port). */
export async function startReceiver(port = 0, path = "/webhooks"): Promise<Receiver> {
  const receiver: Receiver = {
    url: "",
    port: 0,
    received: [],
    respond: () => 200,
    close: () => Promise.resolve(),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      void Promise.resolve(receiver.respond({ body, headers: req.headers, index: receiver.received.length })).then((status) => {
        receiver.received.push({ headers: req.headers, body, at: Date.now(), status });
        res.writeHead(status, { "content-type": "text/plain" }).end(status < 300 ? "ok" : `failing with ${status}`);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}${path}`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

/** Polls `check` until it returns a truthy value (or throws after `timeoutMs`). */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 10_000, what = "condition"): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
