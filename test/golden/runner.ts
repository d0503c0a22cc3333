// Runs the golden cases against one REST endpoint and checks each answer;
// returns a normalized transcript (ids and timestamps replaced) so that
// different targets (in-process, over gRPC, Envoy) can be compared.
import type { GoldenCase, KeyName } from "./cases";

/** The keys a run sends, by name. */
export type Keys = Record<Exclude<KeyName, "none">, string>;

/** One case's outcome: what came back and what did not match. */
export interface Outcome {
  name: string;
  status: number;
  /** The body with ids, timestamps and secrets replaced by stable placeholders. */
  normalized: string;
  problems: string[];
}

const ID = /\b(?:pi|pm|ch|re|cus|evt|we|whsec|req|acct|key)_[A-Za-z0-9_-]+/g;

function get(value: unknown, path: string): unknown {
  return path.split(".").reduce<any>((v, k) => (v == null ? undefined : v[k]), value);
}

function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(/\{(\w+)\}/g, (m, name: string) => {
    if (!(name in vars)) throw new Error(`golden: {${name}} used before it was captured`);
    return vars[name];
  });
}

function interpolateJson(value: unknown, vars: Record<string, string>): unknown {
  if (typeof value === "string") return interpolate(value, vars);
  if (Array.isArray(value)) return value.map((v) => interpolateJson(v, vars));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateJson(v, vars)]));
  return value;
}

/** Compares `actual` with an expected pattern; pushes each mismatch (with its path) into `problems`. */
export function match(actual: unknown, expected: unknown, vars: Record<string, string>, path = "$", problems: string[] = []): string[] {
  const fail = (why: string) => problems.push(`${path}: ${why} (got ${JSON.stringify(actual)?.slice(0, 200)})`);
  if (typeof expected === "string" && expected.startsWith("$")) {
    const [kind, arg] = expected.slice(1).split(":");
    const ok =
      kind === "str" ? typeof actual === "string" :
      kind === "num" ? typeof actual === "number" || (typeof actual === "string" && /^\d+$/.test(actual)) :
      kind === "bool" ? typeof actual === "boolean" :
      kind === "ts" ? typeof actual === "number" && Number.isInteger(actual) && Math.abs(actual - Date.now() / 1000) < 86_400 :
      kind === "req" ? typeof actual === "string" && /^(req_[0-9a-f]{24}|[0-9a-f-]{36})$/.test(actual) :
      kind === "id" ? typeof actual === "string" && new RegExp(`^${arg}_[A-Za-z0-9]+$`).test(actual) :
      false;
    if (!ok) fail(`expected ${expected}`);
  } else if (typeof expected === "string" && expected.startsWith("~")) {
    if (typeof actual !== "string" || !new RegExp(expected.slice(1)).test(actual)) fail(`expected to match ${expected.slice(1)}`);
  } else if (typeof expected === "string" && expected.startsWith("=")) {
    const want = interpolate(expected.slice(1), vars);
    if (actual !== want) fail(`expected ${JSON.stringify(want)}`);
  } else if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) fail("expected an array");
    else if (actual.length !== expected.length) fail(`expected ${expected.length} items`);
    else expected.forEach((e, i) => match(actual[i], e, vars, `${path}[${i}]`, problems));
  } else if (expected && typeof expected === "object") {
    if (!actual || typeof actual !== "object" || Array.isArray(actual)) {
      fail("expected an object");
      return problems;
    }
    const { $exact, ...fields } = expected as Record<string, unknown>;
    for (const [k, v] of Object.entries(fields)) {
      if (!(k in actual)) problems.push(`${path}.${k}: missing`);
      else match((actual as Record<string, unknown>)[k], v, vars, `${path}.${k}`, problems);
    }
    if ($exact) {
      const extra = Object.keys(actual).filter((k) => !(k in fields));
      if (extra.length > 0) problems.push(`${path}: unexpected fields ${extra.join(", ")}`);
    }
  } else if (actual !== expected) {
    fail(`expected ${JSON.stringify(expected)}`);
  }
  return problems;
}

/** Replaces ids (by order of appearance), timestamps and per-merchant values, for comparing runs. */
function normalize(text: string, ids: Map<string, string>): string {
  return text
    .replace(ID, (id) => {
      let name = ids.get(id);
      if (!name) ids.set(id, (name = `<${id.slice(0, id.indexOf("_"))}#${ids.size + 1}>`));
      return name;
    })
    .replace(/"(created|canceled_at|[a-z_]+_at)":\d+/g, '"$1":<ts>')
    .replace(/"fingerprint":"[^"]*"/g, '"fingerprint":<fp>')
    .replace(/"secret":"[^"]*"/g, '"secret":<secret>');
}

/** Runs every case in order against `base` (e.g. `http://127.0.0.1:8080`). */
export async function runGolden(base: string, cases: GoldenCase[], keys: Keys, target: "node" | "envoy" = "node"): Promise<Outcome[]> {
  const vars: Record<string, string> = {};
  const ids = new Map<string, string>();
  const outcomes: Outcome[] = [];
  for (const golden of cases) {
    const c = target === "envoy" && golden.envoy ? { ...golden, ...golden.envoy } : golden;
    try {
      outcomes.push(await runCase(base, c, keys, vars, ids));
    } catch (err) {
      outcomes.push({ name: c.name, status: 0, normalized: "", problems: [String(err)] });
    }
  }
  return outcomes;
}

async function runCase(base: string, c: GoldenCase, keys: Keys, vars: Record<string, string>, ids: Map<string, string>): Promise<Outcome> {
  {
    const headers: Record<string, string> = {};
    const key = c.key ?? "secret";
    if (key !== "none") headers.authorization = `Bearer ${keys[key]}`;
    for (const [k, v] of Object.entries(c.headers ?? {})) headers[k] = interpolate(v, vars);
    let body: string | undefined;
    if (c.body !== undefined) {
      headers["content-type"] = "application/json";
      body = typeof c.body === "string" ? c.body : JSON.stringify(interpolateJson(c.body, vars));
    }
    const url = base + interpolate(c.path, vars);
    for (let i = 0; i < (c.repeat ?? 0); i++) await (await fetch(url, { method: c.method, headers, body })).arrayBuffer();
    const res = await fetch(url, { method: c.method, headers, body });
    const text = await res.text();
    const problems: string[] = [];
    if (res.status !== c.status) problems.push(`status ${res.status}, expected ${c.status}: ${text.slice(0, 300)}`);
    const requestId = res.headers.get("request-id");
    if (!requestId) problems.push("no Request-Id header");
    let json: unknown;
    if (res.headers.get("content-type")?.startsWith("application/json")) {
      try {
        json = JSON.parse(text);
      } catch {
        problems.push("content-type is JSON but the body is not");
      }
    }
    if (res.status >= 400) {
      if (!res.headers.get("content-type")?.startsWith("application/json")) problems.push(`error with content-type ${res.headers.get("content-type")}`);
      if (get(json, "error.request_id") !== requestId) problems.push(`error.request_id ${get(json, "error.request_id")} is not the Request-Id header ${requestId}`);
    }
    if (c.expect !== undefined) match(json, c.expect, vars, "$", problems);
    for (const s of c.expectText ?? []) if (!text.includes(s)) problems.push(`body does not contain ${JSON.stringify(s)}`);
    for (const [name, pattern] of Object.entries(c.expectHeaders ?? {})) {
      const value = res.headers.get(name);
      if (pattern === null) {
        if (value !== null) problems.push(`header ${name} should be absent`);
      } else if (value === null) problems.push(`header ${name} missing`);
      else match(value, pattern, vars, `header ${name}`, problems);
    }
    for (const [name, path] of Object.entries(c.capture ?? {})) {
      const value = get(json, path);
      if (typeof value === "string") vars[name] = value;
      else problems.push(`cannot capture ${name} from ${path}`);
    }
    return { name: c.name, status: res.status, normalized: normalize(text.length > 2000 ? text.slice(0, 2000) : text, ids), problems };
  }
}
