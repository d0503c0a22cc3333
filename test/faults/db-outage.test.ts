// Database unavailable: a core process reaches PostgreSQL through a TCP proxy
// this test controls. Cutting the proxy (the port closes and every open
// connection drops) must make requests fail quickly with an `api_error`
// (503-class), write nothing half-way, and the core must recover on its own
// when the database comes back: no restart.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as net from "node:net";
import { fileURLToPath } from "node:url";
import knex, { type Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMerchantWithKeys } from "../../server/merchants/service";
import { createPostgresDatabase, dropPostgresDatabase, TEST_POSTGRES_URL } from "../support/core";
import { GOOD_CARD, request, startCoreProcess, waitFor, type CoreProcess } from "../scale/procs";
import { checkBooks } from "./books";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A loopback TCP proxy to PostgreSQL that can be cut (port closed, connections dropped) and restored. */
class CuttableProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async open(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, "127.0.0.1", resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async cut(): Promise<void> {
    const closed = new Promise((r) => this.server?.close(r));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

let dbName: string;
let db: Knex;
let proxy: CuttableProxy;
let core: CoreProcess;
let key: string;
let merchantId: string;

beforeAll(async () => {
  dbName = `payments_outage_${randomBytes(5).toString("hex")}`;
  const direct = await createPostgresDatabase(dbName);
  execFileSync(process.execPath, ["--import", "tsx", "server/cli/migrate.ts"], { cwd: ROOT, env: { ...process.env, DATABASE_URL: direct }, stdio: "pipe" });
  db = knex({ client: "pg", connection: direct, pool: { min: 0, max: 2 } });
  const made = await createMerchantWithKeys(db, { name: "Outage", live: false, rateLimits: { default: 100_000, payment_creation: 100_000 } });
  key = made.keys.secret.key;
  merchantId = made.merchant.id;
  const pg = new URL(TEST_POSTGRES_URL);
  proxy = new CuttableProxy({ host: pg.hostname, port: Number(pg.port || 5432) });
  await proxy.open();
  const viaProxy = new URL(direct);
  viaProxy.port = String(proxy.port);
  core = await startCoreProcess({ DATABASE_URL: viaProxy.toString(), WEBHOOK_POLL_MS: "200" });
}, 90_000);

afterAll(async () => {
  await core?.stop();
  await proxy?.cut().catch(() => undefined);
  await db?.destroy();
  if (dbName) await dropPostgresDatabase(dbName);
}, 60_000);

/** Posts a flow's first two steps and returns the intent (requires_confirmation). */
async function prepared(): Promise<{ pm: string; pi: string }> {
  const pm = await request(core.url, "POST", "/v1/payment_methods", { key, body: GOOD_CARD });
  expect(pm.status, pm.text).toBe(200);
  const pi = await request(core.url, "POST", "/v1/payment_intents", { key, body: { amount: 1500, currency: "usd", payment_method: pm.body.id } });
  expect(pi.status, pi.text).toBe(200);
  return { pm: pm.body.id, pi: pi.body.id };
}

describe("PostgreSQL goes away and comes back", () => {
  let pending: { pm: string; pi: string };
  const outageAnswers: Array<{ status: number; body: any; ms: number }> = [];

  it("serves normally through the proxy", async () => {
    pending = await prepared();
  }, 30_000);

  it("fails requests quickly with api_error while the database is unreachable", async () => {
    await proxy.cut();
    const calls: Array<[string, string, unknown?]> = [
      ["POST", `/v1/payment_intents/${pending.pi}/confirm`, {}],
      ["POST", "/v1/payment_methods", GOOD_CARD],
      ["POST", "/v1/payment_intents", { amount: 900, currency: "usd" }],
      ["GET", `/v1/payment_intents/${pending.pi}`],
      ["GET", "/v1/charges"],
    ];
    for (const [method, path, body] of calls) {
      const started = Date.now();
      const a = await request(core.url, method, path, { key, body, timeoutMs: 30_000 });
      outageAnswers.push({ status: a.status, body: a.body, ms: Date.now() - started });
      expect(a.status, `${method} ${path}: ${a.text}`).toBeGreaterThanOrEqual(500);
      expect(a.body?.error?.type, a.text).toBe("api_error");
      expect(a.body.error.request_id).toMatch(/^req_/);
      expect(a.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|Connection terminated|knex|pg/);
      expect(Date.now() - started, `${method} ${path} took too long`).toBeLessThan(5_000);
    }
  }, 60_000);

  it("answers 503 service_unavailable (not 500 internal_error) while the database is unreachable", () => {
    for (const a of outageAnswers) {
      expect(a.status).toBe(503);
      expect(a.body.error.code).toBe("service_unavailable");
    }
  });

  it("recovers on its own when the database returns, with nothing half-written", async () => {
    await proxy.open();
    await waitFor("the core to serve again", async () => (await request(core.url, "GET", "/v1/charges", { key })).status === 200, 30_000, 250);
    // The confirm refused during the outage changed nothing.
    const row = await db("payment_intents").where({ id: pending.pi }).first();
    expect(row.status).toBe("requires_confirmation");
    expect(await db("charges").where({ payment_intent: pending.pi })).toHaveLength(0);
    // And it can be confirmed now, exactly once.
    const ok = await request(core.url, "POST", `/v1/payment_intents/${pending.pi}/confirm`, { key, body: {} });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.status).toBe("succeeded");
    const fresh = await prepared();
    expect(fresh.pi).toMatch(/^pi_/);
    await checkBooks(db, merchantId);
  }, 60_000);
});
