// Latency summaries and the printed table of the benchmark.

/** What one measured case reports. */
export interface CaseResult {
  name: string;
  /** What one "op" is: a request, or a full flow of three requests. */
  unit: "req" | "flow";
  concurrency: number;
  seconds: number;
  ops: number;
  opsPerSec: number;
  /** Per request (not per flow), milliseconds. */
  p50: number;
  p99: number;
  errors: number;
  /** Server process CPU per op, microseconds (both cores count). */
  serverCpuUsPerOp?: number;
  /** Server process RSS at the end of the case, MB. */
  rssMb?: number;
  /** Ratio to the case's ceiling (flows compare to ceiling/3). */
  ratio?: number;
  ceiling?: string;
  note?: string;
}

/** The q-quantile (0..1) of sorted values. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function fmt(n: number | undefined, digits = 0): string {
  if (n === undefined || Number.isNaN(n)) return "-";
  return n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Renders results as an aligned text table. */
export function table(results: CaseResult[]): string {
  const head = ["case", "conc", "ops/s", "unit", "p50 ms", "p99 ms", "err", "cpu µs/op", "rss MB", "ratio"];
  const rows = results.map((r) => [
    r.name,
    String(r.concurrency),
    fmt(r.opsPerSec),
    r.unit,
    fmt(r.p50, 2),
    fmt(r.p99, 2),
    String(r.errors),
    fmt(r.serverCpuUsPerOp),
    fmt(r.rssMb),
    r.ratio === undefined ? "" : `${fmt(r.ratio * 100)}% of ${r.ceiling}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 3 || i === 9 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
