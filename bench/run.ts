// `npm run bench`: starts what it needs, measures side by side in one run, and
// prints a table (and bench/results.json). Ceilings first (bare node:http JSON,
// bare grpc-js echo, bare HTTP→gRPC hop), then the full payment flow over REST
// (the Node gateway in-process, as `npm start` runs it) and gRPC on each
// database, webhook deliveries, and the rate limiter's overhead.
//
//   npm run bench                  ~2–3 minutes
//   npm run bench -- --quick       CI smoke: one concurrency, short cases
//   npm run bench -- --soak        10 minutes at a steady rate, RSS + latency each minute
//   npm run bench -- --profile     also profile the core at 16 clients (bench/profiles/, summary by layer)
//   BENCH_SECONDS=10               seconds per case; BENCH_ONLY=rest,grpc filters case names
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { Child } from "./children";
import type { LoadReport, LoadSpec } from "./loadgen";
import type { ServerInfo, ServerSpec } from "./servers";
import { table, type CaseResult } from "./stats";
import { summarizeProfiles } from "./profile";

const args = new Set(process.argv.slice(2));
const QUICK = args.has("--quick");
const SOAK = args.has("--soak");
const PROFILE = args.has("--profile") || process.env.BENCH_PROFILE === "1";
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 1.5 : 4));
const WARMUP = QUICK ? 0.5 : 1;
const ONLY = process.env.BENCH_ONLY?.split(",").filter(Boolean);
const CONCURRENCY = QUICK ? [16] : [1, 16, 64];
const PROFILE_DIR = fileURLToPath(new URL("./profiles/", import.meta.url));
const RESULTS = process.env.BENCH_RESULTS ?? fileURLToPath(new URL("./results.json", import.meta.url));

const results: CaseResult[] = [];
const notes: string[] = [];
let loadgen: Child;

function wanted(name: string): boolean {
  return !ONLY || ONLY.some((o) => name.includes(o));
}

async function startServer(spec: ServerSpec): Promise<{ child: Child; info: ServerInfo }> {
  const child = await Child.start("./servers.ts");
  try {
    const { info } = await child.request<{ info: ServerInfo }>({ type: "start", spec }, "listening");
    return { child, info };
  } catch (err) {
    await child.stop();
    throw err;
  }
}

async function stats(server: Child): Promise<{ rss: number; heapUsed: number; cpu: NodeJS.CpuUsage }> {
  return server.request({ type: "stats" }, "stats");
}

/** Runs one load case against `server` and records it. */
async function measure(
  name: string,
  server: Child,
  spec: Omit<LoadSpec, "seconds" | "warmupSeconds"> & Partial<Pick<LoadSpec, "seconds">>,
  unit: CaseResult["unit"],
  profileAs?: string,
): Promise<CaseResult | undefined> {
  if (!wanted(name)) return undefined;
  if (profileAs) await server.request({ type: "profile-start" }, "profiling");
  const full: LoadSpec = { seconds: SECONDS, warmupSeconds: WARMUP, ...spec };
  // CPU is sampled around the whole case; warm-up ops are a small, known share.
  const before = await stats(server);
  const { report } = await loadgen.request<{ report: LoadReport }>({ type: "run", spec: full }, "done");
  const after = await stats(server);
  if (profileAs) await server.request({ type: "profile-stop", file: `${PROFILE_DIR}${profileAs}.cpuprofile` }, "profiled");
  const cpuUs = after.cpu.user - before.cpu.user + after.cpu.system - before.cpu.system;
  const totalOps = report.ops * ((full.seconds + full.warmupSeconds) / full.seconds);
  const result: CaseResult = {
    name,
    unit,
    concurrency: spec.concurrency,
    seconds: report.seconds,
    ops: report.ops,
    opsPerSec: report.ops / report.seconds,
    p50: report.p50 ?? NaN,
    p99: report.p99 ?? NaN,
    errors: report.errors,
    serverCpuUsPerOp: totalOps ? cpuUs / totalOps : undefined,
    rssMb: after.rss / 2 ** 20,
  };
  if (report.firstError) result.note = report.firstError;
  results.push(result);
  const ms = (v: number | null) => (v === null || Number.isNaN(v) ? "-" : v.toFixed(2));
  const err = report.errors ? `  errors=${report.errors} first: ${report.firstError}` : "";
  console.log(
    `  ${name.padEnd(34)} c=${String(spec.concurrency).padStart(2)}  ${result.opsPerSec.toFixed(0).padStart(6)} ${unit}/s  p50 ${ms(report.p50)} ms  p99 ${ms(report.p99)} ms${err}`,
  );
  return result;
}

async function ceilings(): Promise<void> {
  console.log("ceilings");
  for (const kind of ["http-echo", "grpc-echo", "hop"] as const) {
    const name = { "http-echo": "ceiling: bare node:http JSON", "grpc-echo": "ceiling: bare grpc-js echo", hop: "ceiling: bare HTTP→gRPC hop" }[kind];
    if (!wanted(name)) continue;
    const { child, info } = await startServer({ kind });
    for (const concurrency of CONCURRENCY.filter((c) => c > 1)) {
      const target = kind === "grpc-echo" ? `127.0.0.1:${info.grpcPort}` : `http://127.0.0.1:${info.httpPort}`;
      await measure(name, child, { kind: kind === "grpc-echo" ? "grpc-echo" : "http-echo", target, concurrency }, "req");
    }
    await child.stop();
  }
}

/** The core cases: one server child per database, REST and gRPC at each concurrency. */
async function cores(): Promise<void> {
  const { benchBackends, coreAvailable } = await import("./core-config");
  const missing = coreAvailable();
  if (missing) {
    notes.push(`full-flow cases skipped: ${missing}`);
    console.log(`full flows: skipped (${missing})`);
    return;
  }
  for (const backend of benchBackends(QUICK)) {
    if (!wanted(`REST flow ${backend.label}`) && !wanted(`gRPC flow ${backend.label}`)) continue;
    console.log(`core on ${backend.label}`);
    let started: Awaited<ReturnType<typeof startServer>>;
    try {
      started = await startServer({ kind: "core", options: backend.options });
    } catch (err) {
      // E.g. no PostgreSQL on 127.0.0.1:5432: the other databases are still measured.
      const reason = (err instanceof Error ? err.message : String(err)).split("\n")[0];
      notes.push(`${backend.label}: skipped, the core did not start (${reason})`);
      console.log(`  skipped: ${reason}`);
      continue;
    }
    const { child, info } = started;
    for (const n of info.notes ?? []) notes.push(`${backend.label}: ${n}`);
    const key = info.extra?.secretKey;
    for (const concurrency of backend.concurrency ?? CONCURRENCY) {
      // With --profile, the 16-client cases are profiled (CPU self time by layer is printed at the end).
      const prof = (t: string) => (PROFILE && concurrency === 16 ? `${backend.name}-${t}` : undefined);
      const rest = { kind: "rest-flow", target: `http://127.0.0.1:${info.httpPort}`, concurrency, key } as const;
      await measure(`REST flow ${backend.label}`, child, rest, "flow", prof("rest"));
      const grpc = { kind: "grpc-flow", target: `127.0.0.1:${info.grpcPort}`, concurrency, key } as const;
      await measure(`gRPC flow ${backend.label}`, child, grpc, "flow", prof("grpc"));
    }
    if (backend.extraCases) await backend.extraCases({ child, info, measure, notes, results, quick: QUICK, seconds: SECONDS });
    await child.stop();
  }
}

/**
 * Webhook deliveries per second: flows make a backlog of events for several
 * endpoints (one local receiver), then the worker is started and timed until
 * every delivery has succeeded.
 */
async function webhooks(): Promise<void> {
  const name = "webhook deliveries (drain)";
  if (!wanted(name)) return;
  const { WEBHOOK_BACKEND, WEBHOOK_ENDPOINTS, coreAvailable } = await import("./core-config");
  if (coreAvailable()) return;
  console.log("webhooks");
  const http = await import("node:http");
  let received = 0;
  const receiver = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received++;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  const { child, info } = await startServer({ kind: "core", options: WEBHOOK_BACKEND.options });
  try {
    const key = info.extra!.secretKey;
    for (let i = 0; i < WEBHOOK_ENDPOINTS; i++) {
      const res = await fetch(`http://127.0.0.1:${info.httpPort}/v1/webhook_endpoints`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ url, enabled_events: ["*"] }),
      });
      if (!res.ok) throw new Error(`webhook endpoint: ${res.status} ${await res.text()}`);
    }
    await loadgen.request(
      { type: "run", spec: { kind: "rest-flow", target: `http://127.0.0.1:${info.httpPort}`, concurrency: 16, key, seconds: QUICK ? 1 : 3, warmupSeconds: 0 } },
      "done",
    );
    const count = async () => (await child.request<{ counts: Record<string, number> }>({ type: "webhooks-status" }, "webhooks-status")).counts;
    const backlog = Object.values(await count()).reduce((a, b) => a + b, 0);
    const before = await stats(child);
    const started = performance.now();
    await child.request({ type: "webhooks-start" }, "webhooks-started");
    let counts = await count();
    while ((counts.succeeded ?? 0) < backlog && performance.now() - started < 120_000) {
      await new Promise((r) => setTimeout(r, 50));
      counts = await count();
    }
    const seconds = (performance.now() - started) / 1000;
    const after = await stats(child);
    const done = counts.succeeded ?? 0;
    const result: CaseResult = {
      name,
      unit: "req",
      concurrency: WEBHOOK_ENDPOINTS,
      seconds,
      ops: done,
      opsPerSec: done / seconds,
      p50: NaN,
      p99: NaN,
      errors: backlog - done,
      serverCpuUsPerOp: done ? (after.cpu.user - before.cpu.user + after.cpu.system - before.cpu.system) / done : undefined,
      rssMb: after.rss / 2 ** 20,
      note: `${backlog} deliveries to ${WEBHOOK_ENDPOINTS} endpoints (one local receiver, ${received} requests seen), per-endpoint limit lifted`,
    };
    results.push(result);
    notes.push(`webhooks: ${result.note}; 'conc' = endpoints`);
    console.log(`  ${name.padEnd(34)} ${result.opsPerSec.toFixed(0).padStart(6)} deliveries/s (${done}/${backlog} in ${seconds.toFixed(1)} s)`);
  } finally {
    await child.stop();
    receiver.closeAllConnections();
    receiver.close();
  }
}

/** Ratios: flows (three requests each) against a third of their ceiling. */
function ratios(): void {
  const ceiling = (prefix: string, c: number) => {
    const all = results.filter((r) => r.name.startsWith(prefix));
    return all.find((r) => r.concurrency === c) ?? all.find((r) => r.concurrency === 16) ?? all[0];
  };
  for (const r of results) {
    if (r.unit !== "flow") continue;
    const base = r.name.startsWith("REST") ? ceiling("ceiling: bare HTTP→gRPC hop", r.concurrency) : ceiling("ceiling: bare grpc-js echo", r.concurrency);
    if (!base) continue;
    r.ratio = r.opsPerSec / (base.opsPerSec / 3);
    r.ceiling = `${base.name.replace("ceiling: bare ", "")}/3 @${base.concurrency}`;
  }
}

async function soak(): Promise<void> {
  const { benchBackends, coreAvailable } = await import("./core-config");
  const missing = coreAvailable();
  if (missing) throw new Error(`soak needs the core: ${missing}`);
  const backend = benchBackends(true)[0];
  const minutes = Number(process.env.SOAK_MINUTES ?? 10);
  const rate = Number(process.env.SOAK_RATE ?? 200);
  console.log(`soak: ${minutes} min at ${rate} REST flows/s on ${backend.label}; one line per minute (SOAK_MINUTES, SOAK_RATE, SOAK_TICK_SECONDS)`);
  const { child, info } = await startServer({ kind: "core", options: backend.options });
  const spec: LoadSpec = {
    kind: "rest-flow",
    target: `http://127.0.0.1:${info.httpPort}`,
    concurrency: 16,
    seconds: minutes * 60,
    warmupSeconds: 0,
    key: info.extra?.secretKey,
    rate,
    reportEverySeconds: Number(process.env.SOAK_TICK_SECONDS ?? 60),
  };
  let minute = 0;
  const ticks: object[] = [];
  await loadgen.request({ type: "run", spec }, "done", async (msg) => {
    if (msg.type !== "tick") return;
    const r = msg.report as LoadReport;
    const s = await stats(child);
    minute++;
    const line = { minute, flowsPerSec: r.ops / r.seconds, p50: r.p50, p99: r.p99, errors: r.errors, rssMb: s.rss / 2 ** 20, heapMb: s.heapUsed / 2 ** 20 };
    ticks.push(line);
    console.log(
      `  tick ${String(minute).padStart(2)}  ${line.flowsPerSec.toFixed(0)} flows/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  errors ${r.errors}  rss ${line.rssMb.toFixed(0)} MB  heap ${line.heapMb.toFixed(0)} MB`,
    );
  });
  await child.stop();
  writeFileSync(RESULTS.replace("results.json", "results-soak.json"), JSON.stringify({ when: new Date().toISOString(), rate, ticks }, null, 2));
}

async function main(): Promise<void> {
  const started = Date.now();
  if (PROFILE) {
    rmSync(PROFILE_DIR, { recursive: true, force: true });
    mkdirSync(PROFILE_DIR, { recursive: true });
  }
  console.log(
    `bench: ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}; ` +
      `${SECONDS}s per case + ${WARMUP}s warm-up; load generator in its own process` +
      (QUICK ? " [quick]" : ""),
  );
  loadgen = await Child.start("./loadgen.ts");
  try {
    if (SOAK) return await soak();
    await ceilings();
    await cores();
    await webhooks();
    ratios();
    console.log("\n" + table(results));
    for (const n of notes) console.log(`note: ${n}`);
    writeFileSync(
      RESULTS,
      JSON.stringify({ when: new Date().toISOString(), quick: QUICK, secondsPerCase: SECONDS, cpus: cpus().length, node: process.version, notes, results }, null, 2),
    );
    console.log(`\nwrote ${RESULTS} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  } finally {
    await loadgen.stop();
  }
  if (PROFILE && existsSync(PROFILE_DIR)) console.log("\n" + summarizeProfiles(PROFILE_DIR));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
