// The HTTP core of the SDK: one request function with the API key, an
// automatic Idempotency-Key on every POST (the same key on every retry, so a
// retried POST never does the work twice), retries with exponential backoff
// and jitter on network errors, 409 and 5xx (honouring Retry-After), and a
// timeout per attempt.
import type { ErrorDetail } from "../../gen/payments/v1/common";
import { APIConnectionError, errorFromResponse } from "./errors";

/** Where the API lives unless told otherwise (the spec's base URL, without `/v1`). */
export const DEFAULT_API_BASE = "https://api.payments.com";

/** Client configuration; every field has a default. */
export interface ClientOptions {
  /** Base URL of the API, e.g. `http://localhost:8080`. Default: PAYMENTS_API_BASE or https://api.payments.com. */
  apiBase?: string;
  /** Timeout of one attempt, in milliseconds. Default 30000. */
  timeoutMs?: number;
  /** Retries after the first attempt (network errors, 409, 5xx). Default 2. */
  maxRetries?: number;
  /** First backoff delay, in milliseconds; doubles per retry, with jitter. Default 500. */
  initialRetryDelayMs?: number;
  /** Largest backoff delay (and largest Retry-After honoured), in milliseconds. Default 8000. */
  maxRetryDelayMs?: number;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

/** Per-request overrides. */
export interface RequestOptions {
  /** The Idempotency-Key to send (default: a new random key per POST, kept across retries). */
  idempotencyKey?: string;
  timeoutMs?: number;
  maxRetries?: number;
}

/** A request the SDK sends. */
export interface ApiRequest {
  method: "GET" | "POST" | "DELETE";
  path: string;
  query?: Record<string, unknown>;
  body?: Record<string, unknown>;
  options?: RequestOptions;
}

const RETRYABLE_STATUS = (status: number) => status === 409 || (status >= 500 && status !== 501);

/** Query string of a params object: scalars as `k=v`, arrays as repeated `k=v`, undefined left out. */
export function encodeQuery(params: Record<string, unknown> = {}): string {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const v of value) q.append(key, String(v));
    else q.append(key, String(value));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

function headersOf(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  res.headers.forEach((v, k) => (out[k] = v));
  return out;
}

/** Milliseconds to wait before retry number `retry` (1-based): Retry-After if given, else exponential with jitter. */
export function retryDelay(retry: number, options: Required<Pick<ClientOptions, "initialRetryDelayMs" | "maxRetryDelayMs">>, retryAfter?: string | null): number {
  const seconds = retryAfter ? Number(retryAfter) : NaN;
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, options.maxRetryDelayMs);
  const exp = Math.min(options.initialRetryDelayMs * 2 ** (retry - 1), options.maxRetryDelayMs);
  // "Equal jitter": half fixed, half random, so retries of many clients spread out.
  return exp / 2 + Math.random() * (exp / 2);
}

/** Sends API requests with one API key. */
export class HttpClient {
  readonly apiBase: string;
  private readonly options: Required<Omit<ClientOptions, "apiBase" | "fetch">>;
  private readonly fetchImpl: typeof fetch;

  constructor(
    private readonly apiKey: string,
    options: ClientOptions = {},
  ) {
    if (!apiKey) throw new Error("An API key is required: new PaymentsSDK('sk_test_...').");
    const env = typeof process !== "undefined" ? process.env?.PAYMENTS_API_BASE : undefined;
    this.apiBase = (options.apiBase ?? env ?? DEFAULT_API_BASE).replace(/\/+$/, "");
    this.options = {
      timeoutMs: options.timeoutMs ?? 30_000,
      maxRetries: options.maxRetries ?? 2,
      initialRetryDelayMs: options.initialRetryDelayMs ?? 500,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 8_000,
    };
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /**
   * Opens a Server-Sent Events stream (GET) and yields each message's JSON.
   * No timeout and no retries: the stream lasts until `signal` aborts it or
   * the server ends it; a caller resumes with the last id it saw.
   */
  async *stream<T>(path: string, query: Record<string, unknown>, signal?: AbortSignal): AsyncGenerator<T> {
    const url = `${this.apiBase}${path}${encodeQuery(query)}`;
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        headers: { Authorization: `Bearer ${this.apiKey}`, Accept: "text/event-stream", "User-Agent": "payments-sdk-typescript/0.1.0" },
        signal,
      });
    } catch (err) {
      if (signal?.aborted) return;
      throw new APIConnectionError(`Could not reach the API at ${this.apiBase}: ${(err as Error).message}`, { type: "api_connection_error", statusCode: 0 });
    }
    if (!res.ok || !res.body) {
      const text = await res.text();
      let detail: ErrorDetail | undefined;
      try {
        detail = (JSON.parse(text) as { error?: ErrorDetail }).error;
      } catch {
        detail = undefined;
      }
      throw errorFromResponse(res.status, detail, headersOf(res));
    }
    try {
      for await (const message of readServerSentEvents(res.body)) {
        // The server ends a failed stream with one `event: error` in the API's error format.
        if (message.event === "error") throw errorFromResponse(500, (JSON.parse(message.data) as { error?: ErrorDetail }).error, headersOf(res));
        yield JSON.parse(message.data) as T;
      }
    } catch (err) {
      if (signal?.aborted && !(err instanceof Error && "statusCode" in err)) return;
      throw err;
    }
  }

  /** Sends one request (retrying as configured) and returns the parsed JSON body. */
  async request<T>(req: ApiRequest): Promise<T> {
    const url = `${this.apiBase}${req.path}${encodeQuery(req.query)}`;
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.apiKey}`,
      Accept: "application/json",
      "User-Agent": "payments-sdk-typescript/0.1.0",
    };
    let body: string | undefined;
    if (req.method === "POST") {
      headers["Content-Type"] = "application/json";
      headers["Idempotency-Key"] = req.options?.idempotencyKey ?? globalThis.crypto.randomUUID();
      body = JSON.stringify(req.body ?? {});
    }
    const maxRetries = req.options?.maxRetries ?? this.options.maxRetries;
    const timeoutMs = req.options?.timeoutMs ?? this.options.timeoutMs;

    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.fetchImpl(url, { method: req.method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
      } catch (err) {
        if (attempt < maxRetries) {
          await sleep(retryDelay(attempt + 1, this.options));
          continue;
        }
        const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
        throw new APIConnectionError(
          timedOut ? `Request timed out after ${timeoutMs} ms: ${req.method} ${req.path}` : `Could not reach the API at ${this.apiBase}: ${(err as Error).message}`,
          { type: "api_connection_error", statusCode: 0 },
        );
      }
      const text = await res.text();
      if (res.ok) return (text ? JSON.parse(text) : {}) as T;
      if (attempt < maxRetries && RETRYABLE_STATUS(res.status)) {
        await sleep(retryDelay(attempt + 1, this.options, res.headers.get("retry-after")));
        continue;
      }
      let detail: ErrorDetail | undefined;
      try {
        detail = (JSON.parse(text) as { error?: ErrorDetail }).error;
      } catch {
        detail = undefined;
      }
      throw errorFromResponse(res.status, detail, headersOf(res));
    }
  }
}

/** Parses a Server-Sent Events body into its events' `event` name and `data`. */
export async function* readServerSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<{ event: string; data: string }> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length > 0) yield { event, data: data.join("\n") };
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
