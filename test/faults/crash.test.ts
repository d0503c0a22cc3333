// Crash: `kill -9` a core process in the middle of a confirm/refund load, on
// SQLite (a file) and on PostgreSQL, start it again, and check the books:
// every succeeded intent has exactly one charge, no charge without its
// intent, refunds never exceed charges, every committed change has its event,
// every event is delivered after the restart, and no idempotency key is
// answered two different ways.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import knex, { type Knex } from "knex";
import { afterAll, describe, expect, it } from "vitest";
import { createMerchantWithKeys } from "../../server/merchants/service";
import { createPostgresDatabase, dropPostgresDatabase } from "../support/core";
import { GOOD_CARD, request, startCoreProcess, waitFor, type Answer, type CoreProcess } from "../scale/procs";
import { startReceiver, type Receiver } from "../scale/receiver";
import { checkBooks } from "./books";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** One idempotency-keyed request as sent, and what came back (if anything). */
interface Sent {
  path: string;
  body: unknown;
  answer?: Answer;
}

describe.each(["sqlite", "postgres"] as const)("kill -9 under load (%s)", (backend) => {
  const cleanups: Array<() => unknown> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  }, 60_000);

  it("keeps the books, replays every answered key the same way, and delivers every event after restart", async () => {
    let databaseUrl: string;
    let db: Knex;
    if (backend === "postgres") {
      const name = `payments_crash_${randomBytes(5).toString("hex")}`;
      databaseUrl = await createPostgresDatabase(name);
      cleanups.push(() => dropPostgresDatabase(name));
      execFileSync(process.execPath, ["--import", "tsx", "server/cli/migrate.ts"], { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl }, stdio: "pipe" });
      db = knex({ client: "pg", connection: databaseUrl, pool: { min: 0, max: 2 } });
    } else {
      const dir = mkdtempSync(join(tmpdir(), "payments-crash-"));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const file = join(dir, "payments.sqlite3");
      databaseUrl = `sqlite://${file}`;
      execFileSync(process.execPath, ["--import", "tsx", "server/cli/migrate.ts"], { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl }, stdio: "pipe" });
      db = knex({ client: "sqlite3", connection: { filename: file }, useNullAsDefault: true, pool: { min: 1, max: 1, afterCreate: (c: any, done: any) => c.run("PRAGMA busy_timeout = 5000", done) } });
    }
    cleanups.push(() => db.destroy());
    const { merchant, keys } = await createMerchantWithKeys(db, { name: "Crash", live: false, rateLimits: { default: 100_000, payment_creation: 100_000 } });
    const key = keys.secret.key;
    const receiver: Receiver = await startReceiver();
    cleanups.push(() => receiver.close());

    const env = { DATABASE_URL: databaseUrl, WEBHOOK_POLL_MS: "100", WEBHOOK_LEASE_MS: "2000", SQLITE_SYNCHRONOUS: "FULL" };
    let core: CoreProcess = await startCoreProcess(env);
    cleanups.push(() => core.stop());
    const endpoint = await request(core.url, "POST", "/v1/webhook_endpoints", { key, body: { url: receiver.url, enabled_events: ["*"] } });
    expect(endpoint.status, endpoint.text).toBe(200);

    // The load: flows of create method → create intent → confirm → two partial refunds, every call idempotency-keyed.
    const sent = new Map<string, Sent>();
    let completedFlows = 0;
    let flip = false;
    let stop = false;
    const call = async (path: string, body: unknown): Promise<Answer | undefined> => {
      const idem = `crash-${randomBytes(8).toString("hex")}`;
      const entry: Sent = { path, body };
      sent.set(idem, entry);
      try {
        entry.answer = await request(core.url, "POST", path, { key, body, headers: { "idempotency-key": idem } });
        return entry.answer;
      } catch {
        return undefined; // the process died under this request
      }
    };
    const worker = async () => {
      while (!stop) {
        const pm = await call("/v1/payment_methods", GOOD_CARD);
        if (pm?.status !== 200) continue;
        // Half the flows confirm on create, half with a separate confirm call.
        let pi = await call("/v1/payment_intents", { amount: 2000, currency: "usd", payment_method: pm.body.id, confirm: flip = !flip });
        if (pi?.status === 200 && pi.body.status === "requires_confirmation") pi = await call(`/v1/payment_intents/${pi.body.id}/confirm`, {});
        if (pi?.status !== 200 || pi.body.status !== "succeeded") continue;
        const charge = pi.body.latest_charge ?? pi.body.charges?.data?.[0]?.id;
        await call("/v1/refunds", { charge, amount: 700 });
        await call("/v1/refunds", { charge, amount: 700 });
        completedFlows++;
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    await waitFor("some flows to complete", () => completedFlows >= 15, 30_000, 20);
    await core.crash();
    stop = true;
    await Promise.all(workers);

    core = await startCoreProcess(env);

    // No idempotency key answered two ways: every answered request, sent again, gets the same bytes.
    for (const [idem, s] of sent) {
      if (!s.answer) continue;
      const again = await request(core.url, "POST", s.path, { key, body: s.body, headers: { "idempotency-key": idem } });
      expect(again.status, `${idem} ${s.path}`).toBe(s.answer.status);
      expect(again.text, `${idem} ${s.path}`).toBe(s.answer.text);
    }
    // Requests cut by the crash: the key either still reports the first call as in progress (409,
    // until its claim is abandoned) or answers, and from then on always the same way.
    for (const [idem, s] of sent) {
      if (s.answer) continue;
      const first = await request(core.url, "POST", s.path, { key, body: s.body, headers: { "idempotency-key": idem } });
      expect(first.status, first.text).toBeLessThan(500);
      if (first.status === 409) {
        expect(first.body.error.type).toBe("idempotency_error");
        continue;
      }
      const second = await request(core.url, "POST", s.path, { key, body: s.body, headers: { "idempotency-key": idem } });
      expect(second.text).toBe(first.text);
    }

    const books = await checkBooks(db, merchant.id);
    expect(books.succeeded).toBeGreaterThanOrEqual(15);
    expect(books.refunds).toBeGreaterThanOrEqual(15);

    // Every event for the endpoint is delivered after the restart (at least once).
    const deliveries = () => db("webhook_deliveries").where({ webhook_endpoint_id: endpoint.body.id });
    expect((await deliveries()).length).toBeGreaterThanOrEqual(books.events);
    await waitFor("every delivery to succeed after restart", async () => (await deliveries()).every((d) => d.status === "succeeded"), 45_000, 250);
    const delivered = new Set(receiver.received.map((r) => r.eventId));
    const events = await db("events").where({ merchant_id: merchant.id });
    for (const e of events) expect(delivered.has(e.id), `event ${e.type} ${e.id} delivered`).toBe(true);
  }, 120_000);
});
