// Core processes for the scale-out and fault tests: `server/main.ts` (what
// `npm start` runs) as a child process on ports picked by the OS, its
// readiness read from its own "started" log line, and a small REST client.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as http from "node:http";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A running core process (gRPC core + REST gateway). */
export interface CoreProcess {
  proc: ChildProcess;
  /** REST base URL. */
  url: string;
  grpcPort: number;
  /** Every line it printed (logs included), for diagnosis. */
  output: string[];
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  /** `kill -9`: no shutdown work at all. */
  crash(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

/** Starts `server/main.ts` with `env` added to ours; resolves once it serves REST and gRPC. */
export async function startCoreProcess(env: Record<string, string>, timeoutMs = 45_000): Promise<CoreProcess> {
  const proc = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", GRPC_PORT: "0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const started = new Promise<{ port: number; grpcPort: number }>((resolve, reject) => {
    let buffered = "";
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        output.push(line);
        if (output.length > 5000) output.splice(0, 1000);
        if (line.includes('"started"')) {
          try {
            const entry = JSON.parse(line);
            if (entry.event === "started") resolve({ port: entry.port, grpcPort: entry.grpc_port });
          } catch {
            // not a log line
          }
        }
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", (c: Buffer) => output.push(...c.toString().split("\n")));
    void exited.then((code) => reject(new Error(`core process exited (${code}) before it started:\n${output.slice(-30).join("\n")}`)));
    setTimeout(() => reject(new Error(`core process not started after ${timeoutMs} ms:\n${output.slice(-30).join("\n")}`)), timeoutMs).unref();
  });
  try {
    const { port, grpcPort } = await started;
    return {
      proc,
      url: `http://127.0.0.1:${port}`,
      grpcPort,
      output,
      exited,
      async crash() {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
        await exited;
      },
      async stop() {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
        await exited;
        clearTimeout(timer);
      },
    };
  } catch (err) {
    proc.kill("SIGKILL");
    throw err;
  }
}

/** One HTTP answer. */
export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The parsed JSON body (undefined when not JSON). */
  body: any;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** Sends one request; `body` objects are sent as JSON, strings and buffers as they are. */
export function request(
  base: string,
  method: string,
  path: string,
  opts: { key?: string; body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Answer> {
  const url = new URL(base);
  const payload =
    opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method,
        path,
        timeout: opts.timeoutMs ?? 20_000,
        headers: {
          ...(payload ? { "content-type": "application/json", "content-length": String(payload.length) } : {}),
          ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A unique prefix for this test run's Redis keys. */
export function redisPrefix(name: string): string {
  return `test-${name}-${randomBytes(4).toString("hex")}`;
}

/** A card that succeeds, with an expiry in the future. */
export const GOOD_CARD = { type: "card", card: { number: "4242424242424242", exp_month: 12, exp_year: 2034, cvc: "123" } };
