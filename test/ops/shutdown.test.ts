// SIGTERM mid-load on the real entry point (server/main.ts, as `npm start`
// runs it) in a child process: every request either completes or is refused
// cleanly (connection refused / UNAVAILABLE, never cut mid-answer), the
// process exits 0, and the database holds no half-written payment.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import knex from "knex";
import { afterAll, describe, expect, it } from "vitest";
import { PaymentMethodServiceClient } from "../../gen/payments/v1/payment_methods";
import { BACKENDS, createPostgresDatabase, dropPostgresDatabase, type Backend } from "../support/core";

const dir = mkdtempSync(join(tmpdir(), "payments-shutdown-"));
let child: ChildProcess | undefined;
let logFile = "";

afterAll(() => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

function logLines(): Array<Record<string, any>> {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * What became of one request: answered; refused (connection refused); reset
 * (the connection was reset before any answer: a connection the kernel had
 * queued when the listener closed; the check below proves the core never saw
 * it); or broken (an answer cut or garbled: never acceptable).
 */
type Outcome = (
  | { kind: "completed"; status: number; body: any }
  | { kind: "refused"; reason: string }
  | { kind: "reset"; reason: string }
  | { kind: "broken"; reason: string }
) & {
  startedAt?: number;
  endedAt?: number;
  idempotencyKey?: string;
};

/** One POST on a fresh connection (no keep-alive), classified. */
async function post(port: number, path: string, key: string, body: unknown, idempotencyKey?: string, agent?: http.Agent): Promise<Outcome> {
  const startedAt = performance.now();
  const outcome = await send(port, path, key, body, idempotencyKey, agent);
  return { ...outcome, startedAt, endedAt: performance.now(), idempotencyKey };
}

/** One POST, on a fresh connection unless a keep-alive `agent` is given. */
function send(port: number, path: string, key: string, body: unknown, idempotencyKey?: string, agent?: http.Agent): Promise<Outcome> {
  const data = JSON.stringify(body);
  return new Promise((resolve) => {
    let sent = false;
    let answered = false;
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        agent: agent ?? false,
        headers: {
          Authorization: `Bearer ${key}`,
          "Content-Type": "application/json",
          "Content-Length": Buffer.byteLength(data),
          ...(idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {}),
        },
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          try {
            resolve({ kind: "completed", status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString()) });
          } catch (err) {
            resolve({ kind: "broken", reason: `unparsable body: ${String(err)}` });
          }
        });
        res.on("error", (err) => resolve({ kind: "broken", reason: `response cut: ${err.message}` }));
      },
    );
    req.on("socket", (s) => s.on("connect", () => (sent = true)));
    req.on("error", (err: NodeJS.ErrnoException) => {
      // Refused before the request reached the server: nothing happened.
      if (!sent && err.code === "ECONNREFUSED") resolve({ kind: "refused", reason: err.code });
      else if (!answered && err.code === "ECONNRESET") resolve({ kind: "reset", reason: err.code });
      else resolve({ kind: "broken", reason: `${err.code ?? ""} ${err.message}` });
    });
    req.end(data);
  });
}

describe.each(BACKENDS)("graceful shutdown on %s", (backend: Backend) => {
  it("on SIGTERM mid-load finishes or cleanly refuses every request, exits 0, leaves no half-written payment", { timeout: 90_000 }, async () => {
    logFile = join(dir, `${backend}.log.jsonl`);
    const pgName = `payments_shutdown_${randomBytes(6).toString("hex")}`;
    const databaseUrl = backend === "postgres" ? await createPostgresDatabase(pgName) : `sqlite://${join(dir, "payments.sqlite3")}`;
    try {
      await run(databaseUrl);
    } finally {
      if (child && child.exitCode === null) child.kill("SIGKILL");
      if (backend === "postgres") await dropPostgresDatabase(pgName);
    }
  });
});

/** One run: start, load, SIGTERM, then check what the clients saw and what the database holds. */
async function run(databaseUrl: string): Promise<void> {
  const entry = join(__dirname, "../../server/main.ts");
  let stdout = "";
  child = spawn(process.execPath, ["--import", "tsx", entry], {
    cwd: join(__dirname, "../.."),
    env: {
      ...process.env,
      PORT: "0",
      GRPC_PORT: "0",
      DATABASE_URL: databaseUrl,
      MIGRATE: "true",
      LOG_FILE: logFile,
      LOG_LEVEL: "info",
      SHUTDOWN_TIMEOUT_MS: "15000",
      REDIS_URL: "",
      RATE_LIMIT_DEFAULT: "100000",
      RATE_LIMIT_PAYMENT_CREATION: "100000",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (c) => (stdout += c));
  let stderr = "";
  child.stderr!.on("data", (c) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child!.on("exit", (code) => resolve(code)));

  const started = await until("the started log line", () => logLines().find((l) => l.event === "started"));
  const key = await until("the development key", () => /^(sk_test_\S+)$/m.exec(stdout)?.[1]);
  const port = started.port as number;
  const grpcClient = new PaymentMethodServiceClient(`127.0.0.1:${started.grpc_port}`, grpc.credentials.createInsecure());

  // A slow webhook receiver, so deliveries are in flight (leased) when SIGTERM arrives.
  let deliveries = 0;
  const receiver = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => setTimeout(() => (deliveries++, res.writeHead(200).end("ok")), 200));
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const hook = await post(port, "/v1/webhook_endpoints", key, {
    url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
    enabled_events: ["payment_intent.succeeded"],
  });
  expect(hook.kind === "completed" && hook.status).toBe(200);

  const outcomes: Outcome[] = [];
  const paid: Array<{ id: string; status: string }> = [];
  let stopped = false;
  let completedPayments = 0;

  const restLoop = async (agent?: http.Agent) => {
    while (!stopped) {
      const pm = await post(port, "/v1/payment_methods", key, { type: "card", card: { number: "4242424242424242", exp_month: 12, exp_year: 2034, cvc: "123" } }, randomBytes(8).toString("hex"), agent);
      outcomes.push(pm);
      if (pm.kind !== "completed") break;
      if (pm.status !== 200) continue;
      const pi = await post(port, "/v1/payment_intents", key, { amount: 1500, currency: "usd", payment_method: pm.body.id, confirm: true }, randomBytes(8).toString("hex"), agent);
      outcomes.push(pi);
      if (pi.kind !== "completed") break;
      if (pi.status === 200) {
        paid.push({ id: pi.body.id, status: pi.body.status });
        completedPayments++;
      }
    }
  };
  const grpcOutcomes: Array<{ code: number }> = [];
  const grpcLoop = async () => {
    while (!stopped) {
      const md = new grpc.Metadata();
      md.set("authorization", `Bearer ${key}`);
      const code = await new Promise<number>((resolve) =>
        grpcClient.createPaymentMethod(
          { type: "card", card: { number: "4242424242424242", exp_month: 12, exp_year: 2034, cvc: "123" }, metadata: {} },
          md,
          (err) => resolve(err ? err.code : 0),
        ),
      );
      grpcOutcomes.push({ code });
      if (code !== 0) break;
    }
  };

  // Five clients opening a connection per request, two keeping theirs alive.
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 2 });
  const loops = [...Array.from({ length: 5 }, () => restLoop()), restLoop(keepAlive), restLoop(keepAlive), grpcLoop()];
  await until("some payments", () => (completedPayments >= 20 ? true : undefined));
  const sigtermAt = performance.now();
  child.kill("SIGTERM");
  const code = await exited;
  stopped = true;
  await Promise.all(loops);
  keepAlive.destroy();
  grpcClient.close();
  receiver.close();

  expect(code, stderr).toBe(0);
  const broken = outcomes.filter((o) => o.kind === "broken");
  const resets = outcomes.filter((o) => o.kind === "reset");
  expect(broken).toEqual([]);
  const completed = outcomes.filter((o): o is Extract<Outcome, { kind: "completed" }> => o.kind === "completed");
  for (const o of completed) expect([200, 503], JSON.stringify(o.body)).toContain(o.status);
  expect(outcomes.some((o) => o.kind === "refused")).toBe(true);
  // Calls in flight when SIGTERM arrived were answered, not cut.
  const spanning = completed.filter((o) => o.startedAt! < sigtermAt && o.endedAt! > sigtermAt);
  expect(spanning.length).toBeGreaterThan(0);
  // gRPC: every call either answered OK or was refused as UNAVAILABLE.
  for (const o of grpcOutcomes) expect([grpc.status.OK, grpc.status.UNAVAILABLE]).toContain(o.code);

  const events = logLines().map((l) => l.event);
  expect(events).toContain("shutdown_started");
  expect(events).toContain("shutdown_finished");

  // No half-written payment: every intent and charge agree, every answered payment is stored as answered.
  const db = databaseUrl.startsWith("postgres")
    ? knex({ client: "pg", connection: databaseUrl })
    : knex({ client: "sqlite3", connection: { filename: databaseUrl.slice("sqlite://".length) }, useNullAsDefault: true });
  try {
    const intents = await db("payment_intents").select("id", "status", "amount", "amount_received", "latest_charge");
    const charges = await db("charges").select("id", "payment_intent", "status", "amount", "amount_captured");
    const chargeById = new Map(charges.map((c) => [c.id, c]));
    for (const pi of intents) {
      expect(["succeeded", "requires_payment_method"]).toContain(pi.status);
      if (pi.status === "succeeded") {
        const ch = chargeById.get(pi.latest_charge);
        expect(ch, `charge of ${pi.id}`).toBeDefined();
        expect(ch).toMatchObject({ payment_intent: pi.id, status: "succeeded" });
        expect(Number(ch!.amount_captured)).toBe(Number(pi.amount));
        expect(Number(pi.amount_received)).toBe(Number(pi.amount));
      }
    }
    for (const ch of charges) expect(intents.find((pi) => pi.latest_charge === ch.id), `intent of ${ch.id}`).toBeDefined();
    const byId = new Map(intents.map((pi) => [pi.id, pi]));
    for (const p of paid) expect(byId.get(p.id)?.status).toBe(p.status);
    // The webhook worker let go of every lease: no delivery is left claimed by the dead process.
    expect(deliveries).toBeGreaterThan(0);
    const leased = await db("webhook_deliveries").whereNotNull("lease_owner").count({ n: "*" }).first();
    expect(Number(leased?.n)).toBe(0);
    // A reset connection never reached the core: no trace of its idempotency key.
    for (const r of resets) {
      expect(await db("idempotency_keys").where({ key: `sk:${r.idempotencyKey!}` }).first(), `reset request ${r.idempotencyKey}`).toBeUndefined();
    }
    // Every answered mutation left a finished idempotency record, none is left in flight.
    const inFlight = await db("idempotency_keys").where({ state: "in_flight" }).count({ n: "*" }).first();
    expect(Number(inFlight?.n)).toBe(0);
    const succeededEvents = await db("events").where({ type: "payment_intent.succeeded" }).count({ n: "*" }).first();
    expect(Number(succeededEvents?.n)).toBe(intents.filter((pi) => pi.status === "succeeded").length);
  } finally {
    await db.destroy();
  }
}
