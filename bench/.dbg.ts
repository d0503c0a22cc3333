import { startBenchCore } from "/work/main/bench/core";
import { runLoad } from "/work/main/bench/loadgen";
const info = await startBenchCore({ database: "sqlite", driver: process.env.DRV ?? "sqlite3" });
for (const kind of ["grpc-flow", "rest-flow"] as const) {
const r = await runLoad({ kind, target: kind === "grpc-flow" ? `127.0.0.1:${info.grpcPort}` : `http://127.0.0.1:${info.httpPort}`, concurrency: 1, seconds: 3, warmupSeconds: 1, key: info.extra!.secretKey });
console.log(kind, r, process.cpuUsage());
}
process.exit(0);
