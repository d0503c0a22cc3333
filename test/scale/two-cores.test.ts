// Scale-out: two core processes (server/main.ts, as `npm start` runs them) on
// one fresh PostgreSQL database and one Redis, load split across them. One
// charge per intent under concurrent confirms through both processes, one
// shared rate-limit budget, each webhook delivered once, idempotency keys
// honoured across processes.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import knex, { type Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMerchantWithKeys } from "../../server/merchants/service";
import { createPostgresDatabase, dropPostgresDatabase } from "../support/core";
import { GOOD_CARD, redisPrefix, request, startCoreProcess, waitFor, type CoreProcess } from "./procs";
import { startReceiver, type Receiver } from "./receiver";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

let dbName: string;
let databaseUrl: string;
let db: Knex;
let prefix: string;
let cores: CoreProcess[] = [];
let receiver: Receiver;
let key: string;
let limitedKey: string;
const LIMIT = 20;

beforeAll(async () => {
  dbName = `payments_scale_${randomBytes(5).toString("hex")}`;
  databaseUrl = await createPostgresDatabase(dbName);
  // The explicit deploy step: PostgreSQL cores do not migrate on start-up.
  execFileSync(process.execPath, ["--import", "tsx", "server/cli/migrate.ts"], { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl }, stdio: "pipe" });
  db = knex({ client: "pg", connection: databaseUrl, pool: { min: 0, max: 2 } });
  key = (await createMerchantWithKeys(db, { name: "Scale", live: false, rateLimits: { default: 100_000, payment_creation: 100_000 } })).keys.secret.key;
  limitedKey = (await createMerchantWithKeys(db, { name: "Limited", live: false, rateLimits: { default: LIMIT, payment_creation: LIMIT } })).keys.secret.key;
  prefix = redisPrefix("scale");
  const env = { DATABASE_URL: databaseUrl, REDIS_URL, RATE_LIMIT_KEY_PREFIX: prefix, WEBHOOK_POLL_MS: "100" };
  cores = await Promise.all([startCoreProcess(env), startCoreProcess(env)]);
  receiver = await startReceiver();
}, 90_000);

afterAll(async () => {
  await Promise.all(cores.map((c) => c.stop()));
  await receiver?.close();
  await db?.destroy();
  if (dbName) await dropPostgresDatabase(dbName);
  if (prefix) {
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
}, 60_000);

const core = (i: number) => cores[i % cores.length].url;

describe("two core processes on PostgreSQL + Redis", () => {
  it("starts two processes against a migrated database", () => {
    expect(cores).toHaveLength(2);
    expect(cores[0].url).not.toBe(cores[1].url);
  });

  it("makes one charge per intent when confirms race through both processes", async () => {
    const intents = 8;
    const racers = 8;
    const ids: string[] = [];
    for (let i = 0; i < intents; i++) {
      const pm = await request(core(i), "POST", "/v1/payment_methods", { key, body: GOOD_CARD });
      expect(pm.status, pm.text).toBe(200);
      const pi = await request(core(i + 1), "POST", "/v1/payment_intents", { key, body: { amount: 1000 + i, currency: "usd", payment_method: pm.body.id } });
      expect(pi.status, pi.text).toBe(200);
      ids.push(pi.body.id);
    }
    const answers = await Promise.all(
      ids.flatMap((id) => Array.from({ length: racers }, (_, r) => request(core(r), "POST", `/v1/payment_intents/${id}/confirm`, { key, body: {} }))),
    );
    for (const a of answers) {
      // Winners answer 200; losers get the spec's error object for the state they found, never a 5xx.
      if (a.status !== 200) {
        expect(a.status, a.text).toBeGreaterThanOrEqual(400);
        expect(a.status, a.text).toBeLessThan(500);
        expect(a.body.error.type).toBe("invalid_request_error");
      }
    }
    for (const id of ids) {
      const charges = await db("charges").where({ payment_intent: id });
      expect(charges, id).toHaveLength(1);
      const pi = await db("payment_intents").where({ id }).first();
      expect(pi.status).toBe("succeeded");
      expect(pi.amount_received).toBe(charges[0].amount);
    }
  }, 60_000);

  it("spends one shared rate-limit budget across both processes", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 10; i++) {
      const a = await request(core(i), "GET", "/v1/customers", { key: limitedKey });
      statuses.push(a.status);
      if (a.status === 429) {
        expect(a.body.error.type).toBe("rate_limit_error");
        expect(a.headers["retry-after"]).toBeDefined();
      }
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(LIMIT);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
  }, 30_000);

  it("honours an idempotency key across processes: one object, the same answer replayed", async () => {
    const idem = `scale-${randomBytes(6).toString("hex")}`;
    const body = { amount: 4321, currency: "usd" };
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => request(core(i), "POST", "/v1/payment_intents", { key, body, headers: { "idempotency-key": idem } })),
    );
    const ok = answers.filter((a) => a.status === 200);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    // The rest either replayed the same answer or were told the first is still running (409).
    for (const a of answers) expect([200, 409], a.text).toContain(a.status);
    expect(new Set(ok.map((a) => a.body.id)).size).toBe(1);
    expect(await db("payment_intents").where({ amount: 4321 })).toHaveLength(1);
    // Afterwards, both processes replay it byte for byte.
    const again = await Promise.all([0, 1].map((i) => request(core(i), "POST", "/v1/payment_intents", { key, body, headers: { "idempotency-key": idem } })));
    for (const a of again) {
      expect(a.status).toBe(200);
      expect(a.text).toBe(ok[0].text);
      expect(a.headers["idempotent-replayed"]).toBe("true");
    }
    // Other parameters under the same key: refused in both processes.
    for (const i of [0, 1]) {
      const a = await request(core(i), "POST", "/v1/payment_intents", { key, body: { amount: 1, currency: "usd" }, headers: { "idempotency-key": idem } });
      expect(a.status).toBe(400);
      expect(a.body.error.type).toBe("idempotency_error");
    }
  }, 30_000);

  it("delivers each webhook once with both processes' workers running", async () => {
    const endpoint = await request(core(0), "POST", "/v1/webhook_endpoints", { key, body: { url: receiver.url, enabled_events: ["*"] } });
    expect(endpoint.status, endpoint.text).toBe(200);
    const since = Math.floor(Date.now() / 1000) - 1;
    for (let i = 0; i < 10; i++) {
      const pm = await request(core(i), "POST", "/v1/payment_methods", { key, body: GOOD_CARD });
      const pi = await request(core(i + 1), "POST", "/v1/payment_intents", { key, body: { amount: 500, currency: "usd", payment_method: pm.body.id, confirm: true } });
      expect(pi.status, pi.text).toBe(200);
    }
    const deliveries = () => db("webhook_deliveries").where({ webhook_endpoint_id: endpoint.body.id });
    const expected = await deliveries();
    expect(expected.length).toBeGreaterThanOrEqual(20);
    await waitFor("every delivery to succeed", async () => (await deliveries()).every((d) => d.status === "succeeded"), 30_000, 200);
    // A few more poll cycles of both workers: nothing is sent again.
    await new Promise((r) => setTimeout(r, 1000));
    const ids = receiver.received.map((r) => r.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids)).toEqual(new Set(expected.map((d) => d.event_id)));
    const events = await db("events").where("created", ">=", since).whereIn("id", ids);
    expect(events).toHaveLength(ids.length);
  }, 60_000);
});
