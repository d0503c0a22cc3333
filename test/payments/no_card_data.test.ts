// After flows with every test card, neither the SQLite files (database and
// WAL) nor any PostgreSQL table holds a full card number or a CVC. Every call
// carries an Idempotency-Key, so the idempotency records are searched too.
import { createHash, createHmac } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreatePaymentMethodRequest } from "../../gen/payments/v1/payment_methods";
import { TEST_CARDS } from "../../server/domain/cards";
import { idempotencyRequestKey } from "../../server/idempotency/store";
import { webhookSecretKey } from "../../server/webhooks/secrets";
import { BACKENDS } from "../support/core";
import { call, startPayments, type PaymentsCore } from "./helpers";

// Distinctive CVCs, so that finding one is meaningful (not a random digit run).
const CVC3 = "739";
const CVC4 = "7391";

describe.each(BACKENDS)("no card data at rest on %s", (backend) => {
  let p: PaymentsCore;
  /** The payment method requests as sent, by their idempotency key. */
  const sent = new Map<string, CreatePaymentMethodRequest>();
  beforeAll(async () => {
    p = await startPayments(backend);
    for (const [i, number] of Object.keys(TEST_CARDS).entries()) {
      const cvc = number.length === 15 ? CVC4 : CVC3;
      const key = (what: string) => p.core.metadata(p.core.keys.secret, { "idempotency-key": `${what}-${i}` });
      const req = CreatePaymentMethodRequest.fromPartial({ type: "card", card: { number, exp_month: 12, exp_year: 2040, cvc }, metadata: {} });
      sent.set(`sk:pm-${i}`, req);
      const pm = await call(p.pm, "createPaymentMethod", req, key("pm"));
      if (!pm.value) throw new Error(`card ${number.slice(-4)} was refused: ${pm.detail?.message}`);
      // The same card again with the publishable key, as a browser would send it.
      const fromBrowser = await call(p.pm, "createPaymentMethod", req, p.core.metadata(p.core.keys.publishable, { "idempotency-key": `pm-${i}` }));
      if (!fromBrowser.value) throw new Error(`card ${number.slice(-4)} was refused with pk: ${fromBrowser.detail?.message}`);
      await call(p.pi, "createPaymentIntent", { amount: 1000, currency: "usd", payment_method: pm.value.payment_method!.id, confirm: true, payment_method_types: [], metadata: {} }, key("pi"));
    }
  });
  afterAll(async () => p?.close());

  async function everything(): Promise<string> {
    const db = p.core.deps.db;
    if (backend === "sqlite") {
      const filename = (db.client.config.connection as { filename: string }).filename;
      return [filename, `${filename}-wal`].filter(existsSync).map((f) => readFileSync(f).toString("latin1")).join("\n");
    }
    const tables = (await db.raw("select tablename from pg_tables where schemaname = 'public'")).rows as Array<{ tablename: string }>;
    const dumps: string[] = [];
    for (const { tablename } of tables) {
      // Binary columns as their bytes (latin1), not as hex text, where random
      // sealed bytes would spell any short digit run sooner or later.
      const rows = (await db(tablename).select("*")) as Array<Record<string, unknown>>;
      for (const row of rows) {
        dumps.push(Object.values(row).map((v) => (v instanceof Uint8Array ? Buffer.from(v).toString("latin1") : typeof v === "object" && v ? JSON.stringify(v) : String(v))).join(","));
      }
    }
    return dumps.join("\n");
  }

  it("stores no card number and no CVC", async () => {
    const dump = await everything();
    expect(dump.length).toBeGreaterThan(1000);
    expect(dump).toContain("4242"); // last4 is there, so the search does see card data
    for (const number of Object.keys(TEST_CARDS)) expect(dump.includes(number), number).toBe(false);
    // No stored JSON carries a `cvc` key. (A bare /cvc/i would match sealed random
    // bytes by chance; the decline code `incorrect_cvc` is a legitimate mention.)
    expect(dump).not.toMatch(/["']cvc["']/i);
    expect(dump).not.toContain(`"${CVC3}"`);
    // Hex text (hashes, claim tokens) is left out: four random hex digits spell any 4-digit run sooner or later.
    expect(dump.replace(/[0-9a-f]{16,}/g, "")).not.toContain(CVC4);
  });

  it("keeps of a keyed payment method request only a keyed hash (HMAC) of it without its CVC", async () => {
    const rows = await p.core.deps.db("idempotency_keys").where({ method: "/payments.v1.PaymentMethodService/CreatePaymentMethod" });
    expect(rows.length).toBe(2 * sent.size); // secret and publishable key records
    const hashKey = idempotencyRequestKey(webhookSecretKey(process.env, p.core.deps.settings.fingerprintSecret));
    for (const row of rows.filter((r) => r.key.startsWith("sk:"))) {
      const req = sent.get(row.key)!;
      const bytes = CreatePaymentMethodRequest.encode(req).finish();
      const withoutCvc = CreatePaymentMethodRequest.encode({ ...req, card: { ...req.card!, cvc: undefined } }).finish();
      // Not a plain SHA-256 that a stolen database could test card numbers against.
      const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
      expect(row.request_hash).not.toBe(sha(bytes));
      expect(row.request_hash).not.toBe(sha(withoutCvc));
      // The deployment-keyed HMAC of the request with the CVC removed, not of the request as sent.
      expect(row.request_hash).not.toBe(createHmac("sha256", hashKey).update(bytes).digest("hex"));
      expect(row.request_hash).toBe(createHmac("sha256", hashKey).update(withoutCvc).digest("hex"));
      // The stored response is sealed: not even the last four digits are readable in it.
      expect(Buffer.from(row.response).toString("latin1")).not.toContain(req.card!.number.slice(-4));
    }
  });
});
