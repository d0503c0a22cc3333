// `npm start` and `npm run keys` as real processes on one SQLite file: the
// first start creates the development merchant and prints its test keys, both
// REST and gRPC answer in the one process, SIGTERM exits 0, a second start
// prints no keys, and keys made, revoked or suspended by the CLI take effect
// in the running server.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { CustomerServiceClient } from "../../gen/payments/v1/customers";
import { call } from "../support/grpc";

const root = join(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "payments-start-"));
const env = {
  ...process.env,
  DATABASE_URL: `sqlite://${join(dir, "payments.sqlite3")}`,
  PORT: "0",
  GRPC_PORT: "0",
  LOG_LEVEL: "info",
  LOG_FILE: "",
  REDIS_URL: "",
};
const running: ChildProcess[] = [];
afterAll(() => {
  for (const p of running) if (p.exitCode === null) p.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** A started `server/main.ts`: its output so far, the ports it logged, and its exit. */
interface Server {
  proc: ChildProcess;
  lines: string[];
  port: number;
  grpcPort: number;
  exited: Promise<number | null>;
}

function tsx(script: string, args: string[] = []): ChildProcess {
  const proc = spawn(process.execPath, ["--import", "tsx", script, ...args], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  running.push(proc);
  return proc;
}

/** Starts the server and resolves once it logs `started` (or rejects if it exits first). */
function start(): Promise<Server> {
  const proc = tsx("server/main.ts");
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let buffer = "";
    proc.stderr!.on("data", (d) => lines.push(String(d)));
    proc.stdout!.on("data", (chunk) => {
      buffer += String(chunk);
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        if (line.includes('"event":"started"')) {
          const log = JSON.parse(line);
          resolve({ proc, lines, port: log.port, grpcPort: log.grpc_port, exited });
        }
      }
    });
    void exited.then((code) => reject(new Error(`server exited with ${code}:\n${lines.join("\n")}`)));
  });
}

/** Runs the keys CLI to completion; resolves with its stdout lines. */
async function keysCli(...args: string[]): Promise<{ code: number | null; lines: string[] }> {
  const proc = tsx("server/cli/keys.ts", args);
  let out = "";
  proc.stdout!.on("data", (d) => (out += String(d)));
  proc.stderr!.on("data", (d) => (out += String(d)));
  const code = await new Promise<number | null>((resolve) => proc.on("exit", resolve));
  return { code, lines: out.trim().split("\n") };
}

const rest = (server: Server, key: string, path: string, body?: object) =>
  fetch(`http://127.0.0.1:${server.port}${path}`, {
    method: body ? "POST" : "GET",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });

/** Polls `fn` every 50 ms (well under the rate limit) until it returns true or `ms` pass. */
async function eventually(fn: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe("npm start and npm run keys", () => {
  let devSecret: string;

  it("creates the development merchant on an empty database, serves REST and gRPC, and exits 0 on SIGTERM", async () => {
    const server = await start();
    const keys = server.lines.filter((l) => /^(sk|pk)_test_[A-Za-z0-9]+$/.test(l));
    expect(keys.map((k) => k.slice(0, 8)).sort()).toEqual(["pk_test_", "sk_test_"]);
    devSecret = keys.find((k) => k.startsWith("sk_"))!;

    const created = await rest(server, devSecret, "/v1/customers", { email: "dev@example.com" });
    expect(created.status).toBe(200);
    const customer = (await created.json()) as { id: string };
    expect(customer.id).toMatch(/^cus_/);

    const client = new CustomerServiceClient(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${devSecret}`);
    const got = await call(client, "getCustomer", { id: customer.id }, md);
    client.close();
    expect(got.value?.customer?.email).toBe("dev@example.com");

    // The log has the call but never the key.
    expect(server.lines.some((l) => l.includes('"path":"/v1/customers"'))).toBe(true);
    expect(server.lines.filter((l) => l.startsWith("{")).some((l) => l.includes(devSecret))).toBe(false);

    server.proc.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  });

  it("prints no keys on a later start; keys made, revoked and suspended with the CLI take effect in the running server", async () => {
    const server = await start();
    try {
      expect(server.lines.some((l) => /^(sk|pk)_/.test(l))).toBe(false);
      expect(server.lines.join("\n")).toMatch(/merchant\(s\) exist.*hashed/);
      expect((await rest(server, devSecret, "/v1/customers?limit=1")).status).toBe(200);

      const made = await keysCli("create-merchant", "Acme");
      expect(made.code).toBe(0);
      const acmeKeys = made.lines.filter((l) => /^(sk|pk)_(test|live)_/.test(l));
      expect(acmeKeys).toHaveLength(4);
      const acmeSecret = acmeKeys.find((k) => k.startsWith("sk_test_"))!;
      expect((await rest(server, acmeSecret, "/v1/customers?limit=1")).status).toBe(200);

      const listed = await keysCli("list");
      const merchantId = /^(acct_\S+)\s+active\s+Acme/m.exec(listed.lines.join("\n"))![1];
      const keyLine = listed.lines.find((l) => l.includes(acmeSecret.slice(0, 12)))!;
      expect(keyLine).not.toContain(acmeSecret);
      const keyId = keyLine.trim().split(/\s+/)[0];

      expect((await keysCli("revoke", keyId)).code).toBe(0);
      expect(await eventually(async () => (await rest(server, acmeSecret, "/v1/customers?limit=1")).status === 401, 5000)).toBe(true);

      const acmeLive = acmeKeys.find((k) => k.startsWith("sk_live_"))!;
      expect((await keysCli("suspend", merchantId)).code).toBe(0);
      expect(await eventually(async () => (await rest(server, acmeLive, "/v1/customers?limit=1")).status === 403, 5000)).toBe(true);
      const body = (await (await rest(server, acmeLive, "/v1/customers?limit=1")).json()) as { error: { message: string } };
      expect(body.error.message).toBe("Account suspended");

      expect((await keysCli("revoke", "key_doesnotexist")).code).toBe(1);

      // A per-merchant rate limit reaches the running server's limiter through the caller.
      const devId = /^(acct_\S+)\s+active\s+Development/m.exec(listed.lines.join("\n"))![1];
      expect((await keysCli("rate-limit", devId, "default=1")).code).toBe(0);
      expect(await eventually(async () => (await rest(server, devSecret, "/v1/customers?limit=1")).status === 429, 5000)).toBe(true);
    } finally {
      server.proc.kill("SIGTERM");
      expect(await server.exited).toBe(0);
    }
  });
});
