// Reads the V8 CPU profiles written with `node --cpu-prof` and says which
// layer of the stack the core's CPU time went to (self time, by source).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The layer a function belongs to, from its source URL. */
export function layerOf(frame: ProfileNode["callFrame"]): string {
  const url = frame.url;
  if (!url) {
    if (frame.functionName === "(garbage collector)") return "GC";
    if (frame.functionName === "(idle)" || frame.functionName === "(program)") return frame.functionName;
    return "native/builtin";
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) {
    if (/^(knex|pg|pg-.*|sqlite3|better-sqlite3|tarn)$/.test(pkg)) return `db: ${pkg}`;
    if (pkg === "tsx" || pkg === "esbuild" || pkg === "get-tsconfig") return "tsx loader";
    return pkg;
  }
  if (url.startsWith("node:internal/http2") || url.includes("internal/http2")) return "node: http2";
  if (/node:(internal\/)?(_)?http|internal\/http|_http_/.test(url)) return "node: http";
  if (/node:(internal\/)?(net|stream|streams)|internal\/stream|internal\/net/.test(url)) return "node: net/streams";
  if (url.startsWith("node:")) return "node: other";
  const own = /\/(server|gateway|gen|bench)\/([^/]+)/.exec(url);
  if (own) return own[1] === "server" || own[1] === "gateway" ? `${own[1]}/${own[2].replace(/\.ts$/, "")}` : own[1];
  return "other";
}

/** Self time per layer over every profile in `dir`, as a printable table. */
export function summarizeProfiles(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  const out: string[] = [];
  for (const file of files) {
    const prof = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile;
    const layerById = new Map(prof.nodes.map((n) => [n.id, layerOf(n.callFrame)]));
    const micros = new Map<string, number>();
    const byFunction = new Map<string, number>();
    const nodeById = new Map(prof.nodes.map((n) => [n.id, n]));
    prof.samples.forEach((id, i) => {
      const layer = layerById.get(id) ?? "other";
      micros.set(layer, (micros.get(layer) ?? 0) + (prof.timeDeltas[i] ?? 0));
      const frame = nodeById.get(id)?.callFrame;
      if (frame && layer !== "(idle)") {
        const fn = `${frame.functionName || "(anonymous)"} ${frame.url.split("/").slice(-2).join("/")}`;
        byFunction.set(fn, (byFunction.get(fn) ?? 0) + (prof.timeDeltas[i] ?? 0));
      }
    });
    micros.delete("(idle)");
    const busy = [...micros.values()].reduce((a, b) => a + b, 0);
    out.push(`profile ${file}: ${(busy / 1e6).toFixed(1)} s busy CPU, self time by layer`);
    for (const [layer, us] of [...micros].sort((a, b) => b[1] - a[1]).slice(0, 18)) {
      out.push(`  ${layer.padEnd(28)} ${((100 * us) / busy).toFixed(1).padStart(5)} %  ${(us / 1e6).toFixed(2)} s`);
    }
    out.push("  top functions:");
    for (const [fn, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 10)) {
      out.push(`    ${((100 * us) / busy).toFixed(1).padStart(5)} %  ${fn}`);
    }
  }
  return out.join("\n");
}

if (process.argv[1]?.endsWith("profile.ts") && process.argv[2]) console.log(summarizeProfiles(process.argv[2]));
