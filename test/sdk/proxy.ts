// A tiny real HTTP proxy for fault injection: it forwards requests to the
// gateway, except where a rule says to answer 503 (before or after
// forwarding) or to drop the connection. It records every request it saw.
import http from "node:http";
import { listen, closeServer } from "./support";

/** What the proxy does with one request. */
export type Fault =
  /** Answer 503 without forwarding. */
  | { kind: "503-before"; retryAfter?: string }
  /** Forward, let the upstream do the work, then answer 503 anyway (a lost response). */
  | { kind: "503-after" }
  /** Destroy the connection without answering. */
  | { kind: "drop" };

/** A request the proxy saw. */
export interface Seen {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
  fault?: Fault["kind"];
}

/** A running proxy. */
export interface FaultProxy {
  base: string;
  seen: Seen[];
  /** Faults to apply, in order, to the next requests matching `method path`. */
  inject(method: string, path: string, ...faults: Fault[]): void;
  close(): Promise<void>;
}

const API_ERROR_503 = JSON.stringify({
  error: { type: "api_error", code: "service_unavailable", message: "Injected by the test proxy.", request_id: "req_proxy_injected" },
});

/** Starts a proxy in front of `upstream` (a base URL). */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const seen: Seen[] = [];
  const faults = new Map<string, Fault[]>();
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const path = (req.url ?? "/").split("?")[0];
    const fault = faults.get(`${req.method} ${path}`)?.shift();
    seen.push({ method: req.method ?? "", path, headers: req.headers, body: body.toString("utf8"), at: Date.now(), fault: fault?.kind });

    if (fault?.kind === "drop") {
      req.socket.destroy();
      return;
    }
    const fail503 = (retryAfter?: string) => {
      res.writeHead(503, { "Content-Type": "application/json", ...(retryAfter ? { "Retry-After": retryAfter } : {}) });
      res.end(API_ERROR_503);
    };
    if (fault?.kind === "503-before") return fail503(fault.retryAfter);

    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host" && k !== "connection") headers[k] = v;
    const up = await fetch(upstream + req.url, { method: req.method, headers, body: body.length > 0 ? body : undefined });
    const text = await up.text();
    if (fault?.kind === "503-after") return fail503();
    const out: Record<string, string> = {};
    up.headers.forEach((v, k) => {
      if (k !== "content-length" && k !== "transfer-encoding" && k !== "connection" && k !== "keep-alive") out[k] = v;
    });
    res.writeHead(up.status, out);
    res.end(text);
  });
  const base = await listen(server);
  return {
    base,
    seen,
    inject(method, path, ...f) {
      faults.set(`${method} ${path}`, [...(faults.get(`${method} ${path}`) ?? []), ...f]);
    },
    close: () => closeServer(server),
  };
}
