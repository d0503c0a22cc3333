// The load generator: a closed loop of N concurrent workers, run in its own
// child process so its CPU is not counted against the server's. HTTP goes
// through one keep-alive agent; gRPC through one grpc-js channel. The parent
// (bench/run.ts) sends a LoadSpec over IPC and gets a LoadReport back.
import * as http from "node:http";
import { pathToFileURL } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { ConfirmPaymentIntentRequest, CreatePaymentIntentRequest, PaymentIntentServiceService } from "../gen/payments/v1/payment_intents";
import { CreatePaymentMethodRequest, PaymentMethodServiceService } from "../gen/payments/v1/payment_methods";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { quantile } from "./stats";

/** What to run. */
export interface LoadSpec {
  /** echo: one request per op; flow: create payment method → create intent → confirm. */
  kind: "http-echo" | "grpc-echo" | "rest-flow" | "grpc-flow";
  /** `http://127.0.0.1:port` or `127.0.0.1:port`. */
  target: string;
  concurrency: number;
  seconds: number;
  warmupSeconds: number;
  /** Secret API key for flows. */
  key?: string;
  /** Steady total rate in ops/s (soak); absent = as fast as possible. */
  rate?: number;
  /** Send an interim report every this many seconds (soak). */
  reportEverySeconds?: number;
}

/** What a run measured. */
export interface LoadReport {
  ops: number;
  errors: number;
  seconds: number;
  p50: number;
  p99: number;
  firstError?: string;
}

type Op = () => Promise<void>;

const CARD = { type: "card", card: { number: "4242424242424242", exp_month: 12, exp_year: 2034, cvc: "123" } };
const INTENT = { amount: 2000, currency: "usd", payment_method_types: ["card"], description: "bench" };

class Recorder {
  latencies: number[] = [];
  ops = 0;
  errors = 0;
  firstError?: string;
  on = false;
  request(ms: number) {
    if (this.on) this.latencies.push(ms);
  }
  error(err: unknown) {
    if (!this.on) return;
    this.errors++;
    this.firstError ??= err instanceof Error ? err.message : String(err);
  }
  summary(seconds: number): LoadReport {
    const sorted = Float64Array.from(this.latencies).sort();
    return { ops: this.ops, errors: this.errors, seconds, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), firstError: this.firstError };
  }
  reset() {
    this.latencies = [];
    this.ops = 0;
    this.errors = 0;
  }
}

function httpClient(base: string, concurrency: number, rec: Recorder, key?: string) {
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  return (method: string, path: string, body?: unknown): Promise<any> => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          method,
          path,
          headers: {
            ...(payload ? { "content-type": "application/json", "content-length": payload.length } : {}),
            ...(key ? { authorization: `Bearer ${key}` } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () => {
            rec.request(performance.now() - started);
            const text = Buffer.concat(chunks).toString();
            if ((res.statusCode ?? 0) >= 300) return reject(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`));
            try {
              resolve(JSON.parse(text));
            } catch (err) {
              reject(err);
            }
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  };
}

function grpcClient(target: string, rec: Recorder, key?: string) {
  const client = new grpc.Client(target, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  if (key) md.set("authorization", `Bearer ${key}`);
  return <Req, Res>(def: { path: string; requestSerialize(r: Req): Buffer; responseDeserialize(b: Buffer): Res }, req: Req): Promise<Res> => {
    const started = performance.now();
    return new Promise((resolve, reject) =>
      client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, req, md, (err, res) => {
        rec.request(performance.now() - started);
        if (err) reject(new Error(`${def.path}: ${err.code} ${err.details}`));
        else resolve(res!);
      }),
    );
  };
}

function makeOp(spec: LoadSpec, rec: Recorder): Op {
  switch (spec.kind) {
    case "http-echo": {
      const call = httpClient(spec.target, spec.concurrency, rec);
      return async () => void (await call("POST", "/echo", INTENT));
    }
    case "grpc-echo": {
      const call = grpcClient(spec.target, rec);
      const echo = { path: "/bench.Echo/Echo", requestSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
      const body = Buffer.from(JSON.stringify(INTENT));
      return async () => void (await call(echo, body));
    }
    case "rest-flow": {
      const call = httpClient(spec.target, spec.concurrency, rec, spec.key);
      return async () => {
        const pm = await call("POST", "/v1/payment_methods", CARD);
        const pi = await call("POST", "/v1/payment_intents", INTENT);
        const done = await call("POST", `/v1/payment_intents/${pi.id}/confirm`, { payment_method: pm.id });
        if (done.status !== "succeeded") throw new Error(`confirm ended in ${done.status}`);
      };
    }
    case "grpc-flow": {
      const call = grpcClient(spec.target, rec, spec.key);
      return async () => {
        const pm = await call(PaymentMethodServiceService.createPaymentMethod, CreatePaymentMethodRequest.fromPartial(CARD));
        const pi = await call(PaymentIntentServiceService.createPaymentIntent, CreatePaymentIntentRequest.fromPartial(INTENT));
        const done = await call(
          PaymentIntentServiceService.confirmPaymentIntent,
          ConfirmPaymentIntentRequest.fromPartial({ id: pi.payment_intent!.id, payment_method: pm.payment_method!.id }),
        );
        if (done.payment_intent?.status !== "succeeded") throw new Error(`confirm ended in ${done.payment_intent?.status}`);
      };
    }
  }
}

/** Runs `spec` and returns what it measured (interim reports go to `onTick`). */
export async function runLoad(spec: LoadSpec, onTick?: (r: LoadReport) => void): Promise<LoadReport> {
  const rec = new Recorder();
  const op = makeOp(spec, rec);
  const warmupEnd = performance.now() + spec.warmupSeconds * 1000;
  const end = warmupEnd + spec.seconds * 1000;
  let measureStart = warmupEnd;
  const interval = spec.rate ? (spec.concurrency * 1000) / spec.rate : 0;
  let tickTimer: NodeJS.Timeout | undefined;
  const warmTimer = setTimeout(() => {
    rec.reset();
    rec.on = true;
    measureStart = performance.now();
    if (spec.reportEverySeconds && onTick) {
      let windowStart = performance.now();
      tickTimer = setInterval(() => {
        const now = performance.now();
        onTick(rec.summary((now - windowStart) / 1000));
        rec.reset();
        windowStart = now;
      }, spec.reportEverySeconds * 1000);
    }
  }, spec.warmupSeconds * 1000);
  rec.on = spec.warmupSeconds === 0;
  const worker = async (w: number) => {
    let next = performance.now() + (interval * w) / spec.concurrency;
    while (performance.now() < end) {
      if (interval) {
        const wait = next - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        next += interval;
      }
      try {
        await op();
        if (rec.on) rec.ops++;
      } catch (err) {
        rec.error(err);
        // Fast failures settle in microtasks: let timers (warm-up end, ticks) run.
        await yieldToLoop();
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, (_, w) => worker(w)));
  clearTimeout(warmTimer);
  if (tickTimer) clearInterval(tickTimer);
  return rec.summary((performance.now() - measureStart) / 1000);
}

// As a child process: one spec per message, one report back.
if (process.send && import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.on("message", async (msg: { type: "run"; spec: LoadSpec }) => {
    if (msg?.type !== "run") return;
    const report = await runLoad(msg.spec, (tick) => process.send!({ type: "tick", report: tick }));
    process.send!({ type: "done", report });
  });
  // The parent is gone (crashed or killed): never linger as an orphan.
  process.on("disconnect", () => process.exit(0));
  process.send({ type: "ready" });
}
