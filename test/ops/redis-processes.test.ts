// Two core processes (server/main.ts, as `npm start` runs it) on one database
// and one Redis spend one rate-limit budget per API key, over REST.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { countRedisKeys, deleteRedisKeys, spawnServer, TEST_REDIS_URL, testPrefix, type ServerProcess } from "./helpers";

const dir = mkdtempSync(join(tmpdir(), "payments-redis-"));
const prefix = testPrefix();
const servers: ServerProcess[] = [];

afterAll(async () => {
  for (const s of servers) s.kill();
  await deleteRedisKeys(prefix);
  rmSync(dir, { recursive: true, force: true });
});

describe("a shared Redis budget across processes", () => {
  it("counts calls to either process against one budget and refuses on both once spent", { timeout: 60_000 }, async () => {
    const env = {
      DATABASE_URL: `sqlite://${join(dir, "payments.sqlite3")}`,
      REDIS_URL: TEST_REDIS_URL,
      RATE_LIMIT_KEY_PREFIX: prefix,
      RATE_LIMIT_DEFAULT: "6",
    };
    const a = await spawnServer(env);
    servers.push(a);
    const b = await spawnServer(env);
    servers.push(b);
    const key = a.devKey!;
    expect(key).toMatch(/^sk_test_/);

    const get = (s: ServerProcess) => fetch(`http://127.0.0.1:${s.port}/v1/customers`, { headers: { Authorization: `Bearer ${key}` } });
    const remaining: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await get(i % 2 === 0 ? a : b);
      expect(res.status).toBe(200);
      expect(res.headers.get("ratelimit-limit")).toBe("6");
      remaining.push(res.headers.get("ratelimit-remaining")!);
      await res.arrayBuffer();
    }
    expect(remaining).toEqual(["5", "4", "3", "2", "1", "0"]);
    for (const s of [a, b]) {
      const res = await get(s);
      expect(res.status).toBe(429);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(((await res.json()) as { error: { type: string } }).error.type).toBe("rate_limit_error");
    }
    expect(await countRedisKeys(prefix)).toBeGreaterThan(0);
    for (const s of [a, b]) expect(s.logLines().some((l) => l.event === "rate_limiter_fallback")).toBe(false);

    expect(await a.stop()).toBe(0);
    expect(await b.stop()).toBe(0);
    await deleteRedisKeys(prefix);
    expect(await countRedisKeys(prefix)).toBe(0);
  });
});
