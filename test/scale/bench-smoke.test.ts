// CI smoke of `npm run bench -- --quick`: the benchmark starts what it needs,
// measures every kind of case without errors, prints the table and writes
// its JSON. The figures themselves are never asserted (they depend on the
// machine); only that they were measured.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "bench-smoke-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("npm run bench -- --quick", () => {
  it("measures the ceilings, the flows on each database, the limiter and webhooks, and writes results", async () => {
    const out = join(dir, "results.json");
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ["--import", "tsx", "bench/run.ts", "--quick"],
        { cwd: ROOT, env: { ...process.env, BENCH_SECONDS: "0.5", BENCH_RESULTS: out, LOG_LEVEL: "silent" }, timeout: 150_000, maxBuffer: 16 * 2 ** 20 },
        (err, so, se) => (err ? reject(new Error(`${err.message}\n${so}\n${se}`)) : resolve(so)),
      ),
    );
    expect(stdout).toMatch(/case\s+conc\s+ops\/s/);
    const results = JSON.parse(readFileSync(out, "utf8"));
    const names: string[] = results.results.map((r: { name: string }) => r.name);
    for (const expected of [
      "ceiling: bare node:http JSON",
      "ceiling: bare grpc-js echo",
      "ceiling: bare HTTP→gRPC hop",
      "REST flow sqlite3",
      "gRPC flow sqlite3",
      "REST flow better-sqlite3",
      "REST flow postgres",
      "gRPC flow postgres",
      "REST flow better-sqlite3 + limiter (memory)",
      "webhook deliveries (drain)",
    ]) {
      expect(names).toContain(expected);
    }
    for (const r of results.results) {
      expect(r.ops, r.name).toBeGreaterThan(0);
      expect(r.errors, `${r.name}: ${r.note}`).toBe(0);
      if (r.unit === "flow") expect(r.ratio, r.name).toBeGreaterThan(0);
    }
    expect(results.notes.join("\n")).toMatch(/synchronous=NORMAL/);
  }, 180_000);
});
