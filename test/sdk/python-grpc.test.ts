// Clients in other languages (docs/clients.md), proven for Python: generate
// the messages and stubs from proto/ + proto_deps/ with Debian's protoc and
// grpc_python_plugin, then call the running core with Debian's python3-grpcio.
// Uses /usr/bin/python3: a pyenv python3 on PATH cannot see Debian's grpcio.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCore, type TestCore } from "../support/core";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PYTHON = "/usr/bin/python3";
const TOOLS = ["/usr/bin/protoc", "/usr/bin/grpc_python_plugin", PYTHON];
const available = TOOLS.every(existsSync);

// CI installs these (scripts/ci-packages.sh); only a developer machine without them skips.
describe.skipIf(!available && !process.env.CI)("Python gRPC client generated from proto/", () => {
  let core: TestCore;
  let out: string;

  beforeAll(async () => {
    core = await startTestCore();
    out = mkdtempSync(join(tmpdir(), "py-grpc-"));
    const protos = [
      ...readdirSync(join(ROOT, "proto/payments/v1")).map((f) => `payments/v1/${f}`),
      "google/api/annotations.proto",
      "google/api/http.proto",
      "google/api/httpbody.proto",
      "google/rpc/status.proto",
    ];
    execFileSync(
      "/usr/bin/protoc",
      [
        `--proto_path=${join(ROOT, "proto")}`,
        `--proto_path=${join(ROOT, "proto_deps")}`,
        "--proto_path=/usr/include",
        `--python_out=${out}`,
        `--grpc_out=${out}`,
        "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
        ...protos,
      ],
      { stdio: "pipe" },
    );
  });
  afterAll(async () => {
    await core?.close();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it("generates stubs for every service", () => {
    const files = readdirSync(join(out, "payments/v1"));
    for (const name of ["payment_intents", "payment_methods", "customers", "charges", "refunds", "events", "webhook_endpoints", "receipts"]) {
      expect(files).toContain(`${name}_pb2.py`);
      expect(files).toContain(`${name}_pb2_grpc.py`);
    }
  });

  it("creates and confirms a payment over gRPC with the API key in metadata", async () => {
    // Asynchronously: the core answers from this same process.
    const run = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(PYTHON, [join(ROOT, "test/sdk/python/grpc_client.py"), core.grpcAddress, core.keys.secret], {
        env: { ...process.env, PYTHONPATH: out, PYTHONDONTWRITEBYTECODE: "1" },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", reject);
      child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^created pi_\S+ requires_payment_method$/);
    expect(lines[1]).toBe("Payment status: succeeded amount_received=2000");
    expect(lines[2]).toBe("error NOT_FOUND invalid_request_error resource_missing");
  });
});
