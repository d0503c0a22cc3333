// The scale-out path migrates explicitly: a core on a PostgreSQL database with
// unapplied migrations refuses to start and says what to run; after
// `npm run migrate` (server/cli/migrate.ts) it starts.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { createPostgresDatabase, dropPostgresDatabase } from "../support/core";
import { startCoreProcess } from "./procs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const name = `payments_migrate_${randomBytes(5).toString("hex")}`;
afterAll(() => dropPostgresDatabase(name), 30_000);

describe("PostgreSQL start-up and migrations", () => {
  it("refuses to start before `npm run migrate`, and starts after it", async () => {
    const url = await createPostgresDatabase(name);
    const refused = await startCoreProcess({ DATABASE_URL: url }).then(
      (core) => core.stop().then(() => undefined),
      (err: Error) => err.message,
    );
    expect(refused, "a core must not start on an unmigrated database").toBeDefined();
    expect(refused).toMatch(/exited \(1\)/);
    expect(refused).toMatch(/migrat/i);
    const out = execFileSync(process.execPath, ["--import", "tsx", "server/cli/migrate.ts"], { cwd: ROOT, env: { ...process.env, DATABASE_URL: url } }).toString();
    expect(out).toMatch(/Applied/);
    const core = await startCoreProcess({ DATABASE_URL: url });
    expect(core.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await core.stop();
  }, 90_000);
});
