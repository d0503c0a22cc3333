// The servers under test, each in its own child process so the load
// generator's CPU and the orchestrator's are not counted against them:
// the three ceilings (bare node:http JSON, bare grpc-js echo, bare
// HTTP→gRPC hop) and the real core (see bench/core.ts).
import * as http from "node:http";
import { pathToFileURL } from "node:url";
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import * as grpc from "@grpc/grpc-js";

/** What the child should serve. */
export type ServerSpec =
  | { kind: "http-echo" }
  | { kind: "grpc-echo" }
  | { kind: "hop" }
  | { kind: "core"; options: Record<string, unknown> };

/** What the child reports once listening. */
export interface ServerInfo {
  httpPort?: number;
  grpcPort?: number;
  /** Facts worth printing (driver, durability setting, ...). */
  notes?: string[];
  /** Extra values (API keys) the load needs. */
  extra?: Record<string, string>;
}

const raw = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
const ECHO: grpc.ServiceDefinition = {
  Echo: { path: "/bench.Echo/Echo", requestStream: false, responseStream: false, originalName: "Echo", ...raw } as grpc.MethodDefinition<Buffer, Buffer>,
};

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function listenHttp(handler: http.RequestListener): Promise<number> {
  const server = http.createServer({ keepAliveTimeout: 60_000 }, handler);
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

function listenGrpc(): Promise<number> {
  const server = new grpc.Server();
  server.addService(ECHO, { Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request) });
  return new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
}

const exitHooks: Array<() => unknown> = [];

/** Registers cleanup (close servers, drop databases) to run when the child is told to exit. */
export function atExit(hook: () => unknown): void {
  exitHooks.push(hook);
}

/** Starts what `spec` names in this process. */
export async function startServer(spec: ServerSpec): Promise<ServerInfo> {
  switch (spec.kind) {
    case "http-echo": {
      // Parses and prints JSON like a real API server would.
      const httpPort = await listenHttp(async (req, res) => {
        const body = JSON.parse((await readBody(req)).toString() || "{}");
        const out = JSON.stringify({ object: "echo", ...body });
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) });
        res.end(out);
      });
      return { httpPort };
    }
    case "grpc-echo":
      return { grpcPort: await listenGrpc() };
    case "hop": {
      // node:http → JSON parse → grpc-js over loopback HTTP/2 → JSON print: the
      // transport work a REST gateway in front of a remote gRPC core does.
      const grpcPort = await listenGrpc();
      const client = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
      const httpPort = await listenHttp(async (req, res) => {
        const body = JSON.parse((await readBody(req)).toString() || "{}");
        client.makeUnaryRequest(
          "/bench.Echo/Echo",
          raw.requestSerialize,
          raw.responseDeserialize,
          Buffer.from(JSON.stringify(body)),
          new grpc.Metadata(),
          (err, reply) => {
            if (err) {
              res.writeHead(503).end();
              return;
            }
            const out = JSON.stringify({ object: "echo", ...JSON.parse(reply!.toString()) });
            res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) });
            res.end(out);
          },
        );
      });
      return { httpPort, grpcPort };
    }
    case "core": {
      const { startBenchCore } = await import("./core");
      return startBenchCore(spec.options);
    }
  }
}

let profiler: Session | undefined;

// As a child process: start one server, report its ports, answer stats requests.
if (process.send && import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.on("message", async (msg: { type: string; spec?: ServerSpec }) => {
    if (msg.type === "start") {
      try {
        process.send!({ type: "listening", info: await startServer(msg.spec!) });
      } catch (err) {
        process.send!({ type: "failed", error: err instanceof Error ? err.stack ?? err.message : String(err) });
      }
    } else if (msg.type === "stats") {
      const mem = process.memoryUsage();
      process.send!({ type: "stats", rss: mem.rss, heapUsed: mem.heapUsed, cpu: process.cpuUsage() });
    } else if (msg.type === "profile-start") {
      // Profiles only the load, not start-up (module loading would dominate).
      profiler ??= new Session();
      profiler.connect();
      await profiler.post("Profiler.enable");
      await profiler.post("Profiler.setSamplingInterval", { interval: 200 });
      await profiler.post("Profiler.start");
      process.send!({ type: "profiling" });
    } else if (msg.type === "profile-stop") {
      const { profile } = await profiler!.post("Profiler.stop");
      profiler!.disconnect();
      writeFileSync((msg as { file?: string }).file!, JSON.stringify(profile));
      process.send!({ type: "profiled" });
    } else if (msg.type.startsWith("webhooks-")) {
      const { benchControl } = await import("./core");
      process.send!((await benchControl(msg)) ?? { type: "failed", error: "no core running" });
    } else if (msg.type === "exit") {
      for (const hook of exitHooks.reverse()) {
        try {
          await hook();
        } catch (err) {
          console.error("bench server cleanup failed:", err);
        }
      }
      process.exit(0);
    }
  });
  // The parent is gone (crashed or killed): never linger as an orphan.
  process.on("disconnect", () => process.exit(0));
  process.send({ type: "ready" });
}
