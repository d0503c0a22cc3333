// After flows with every test card, neither the SQLite files (database and
// WAL) nor any PostgreSQL table holds a full card number or a CVC.
import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_CARDS } from "../../server/domain/cards";
import { BACKENDS } from "../support/core";
import { call, startPayments, type PaymentsCore } from "./helpers";

// Distinctive CVCs, so that finding one is meaningful (not a random digit run).
const CVC3 = "739";
const CVC4 = "7391";

describe.each(BACKENDS)("no card data at rest on %s", (backend) => {
  let p: PaymentsCore;
  beforeAll(async () => {
    p = await startPayments(backend);
    for (const number of Object.keys(TEST_CARDS)) {
      const cvc = number.length === 15 ? CVC4 : CVC3;
      const pm = await call(p.pm, "createPaymentMethod", { type: "card", card: { number, exp_month: 12, exp_year: 2040, cvc }, metadata: {} }, p.sk());
      if (!pm.value) throw new Error(`card ${number.slice(-4)} was refused: ${pm.detail?.message}`);
      await call(p.pi, "createPaymentIntent", { amount: 1000, currency: "usd", payment_method: pm.value.payment_method!.id, confirm: true, payment_method_types: [], metadata: {} }, p.sk());
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
      const rows = (await db.raw(`select t::text as row from "${tablename}" t`)).rows as Array<{ row: string }>;
      dumps.push(...rows.map((r) => r.row));
    }
    return dumps.join("\n");
  }

  it("stores no card number and no CVC", async () => {
    const dump = await everything();
    expect(dump.length).toBeGreaterThan(1000);
    expect(dump).toContain("4242"); // last4 is there, so the search does see card data
    for (const number of Object.keys(TEST_CARDS)) expect(dump.includes(number), number).toBe(false);
    // The decline code `incorrect_cvc` (card 4000000000000127) is the only legitimate mention.
    expect(dump.replaceAll("incorrect_cvc", "")).not.toMatch(/cvc/i);
    expect(dump).not.toContain(`"${CVC3}"`);
    expect(dump).not.toContain(CVC4);
  });
});
