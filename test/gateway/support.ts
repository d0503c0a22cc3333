// Test helpers for the gateway: compiling a test proto into a descriptor set
// with buf (as `npm run gen` does for the contract), and small HTTP calls.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createFileRegistry, fromBinary, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Compiles `protoFile` (with the googleapis protos of proto_deps/) into a registry. */
export function compileProto(protoFile: string): FileRegistry {
  const dir = mkdtempSync(join(tmpdir(), "gw-proto-"));
  try {
    cpSync(protoFile, join(dir, "src", protoFile.split("/").pop()!));
    cpSync(join(ROOT, "proto_deps"), join(dir, "deps"), { recursive: true });
    writeFileSync(join(dir, "buf.yaml"), "version: v2\nmodules:\n  - path: src\n  - path: deps\n");
    execFileSync(join(ROOT, "node_modules/.bin/buf"), ["build", "-o", join(dir, "out.binpb")], { cwd: dir, stdio: "pipe" });
    return createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(join(dir, "out.binpb"))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Listens on 127.0.0.1:0 and resolves with the base URL. */
export function listenLocal(server: http.Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

/** Closes a server, dropping idle keep-alive connections. */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** An HTTP response as the tests read it. */
export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** One request with fetch; the body is JSON-encoded unless it is a string. */
export async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
