// A subset of protoc-gen-validate, enough to hold an Envoy config to the
// rules its API protos declare: required messages and oneofs, string and
// repeated lengths, defined enum values, integer bounds and positive
// durations. Walks a decoded message, unpacking every Any by the registry.
import { getExtension, hasExtension, type DescField, type DescMessage, type DescOneof, type FileRegistry } from "@bufbuild/protobuf";
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";

type Rules = Record<string, any>;
const has = (o: object | undefined, k: string): boolean => o !== undefined && Object.prototype.hasOwnProperty.call(o, k);

/** Checks `message` (of `schema`) against its validate rules; returns one line per violation. */
export function validateRules(registry: FileRegistry, schema: DescMessage, message: Record<string, any>, path = "$"): string[] {
  const rulesExt = registry.getExtension("validate.rules");
  const requiredExt = registry.getExtension("validate.required");
  if (!rulesExt || !requiredExt) throw new Error("the registry has no validate.proto");
  const problems: string[] = [];

  const oneofRequired = (o: DescOneof) => !!o.proto.options && hasExtension(o.proto.options, requiredExt) && getExtension(o.proto.options, requiredExt) === true;
  const fieldRules = (f: DescField): Rules | undefined =>
    f.proto.options && hasExtension(f.proto.options, rulesExt) ? (getExtension(f.proto.options, rulesExt) as Rules) : undefined;

  const walk = (desc: DescMessage, msg: Record<string, any>, at: string): void => {
    if (desc.typeName === "google.protobuf.Any") {
      const inner = anyUnpack(msg as unknown as Any, registry);
      const innerDesc = inner && registry.getMessage((inner as { $typeName: string }).$typeName);
      if (inner && innerDesc) walk(innerDesc, inner as Record<string, any>, `${at}<${innerDesc.typeName}>`);
      return;
    }
    if (desc.typeName.startsWith("google.protobuf.")) return;
    for (const o of desc.oneofs) {
      if (oneofRequired(o) && msg[o.localName]?.case === undefined) problems.push(`${at}: one of ${o.fields.map((f) => f.name).join(", ")} is required`);
    }
    for (const f of desc.fields) {
      const where = `${at}.${f.name}`;
      const value = f.oneof ? (msg[f.oneof.localName]?.case === f.localName ? msg[f.oneof.localName].value : undefined) : msg[f.localName];
      const rules = fieldRules(f);
      if (rules) check(f, rules, value, where);
      if (value === undefined) continue;
      if (f.fieldKind === "message") walk(f.message, value, where);
      else if (f.fieldKind === "list" && f.listKind === "message") value.forEach((v: any, i: number) => walk(f.message, v, `${where}[${i}]`));
      else if (f.fieldKind === "map" && f.mapKind === "message") for (const [k, v] of Object.entries(value)) walk(f.message, v as any, `${where}[${k}]`);
    }
  };

  const check = (f: DescField, rules: Rules, value: any, where: string): void => {
    // A oneof member that is not the chosen case has no rules to meet.
    if (f.oneof && value === undefined) return;
    if (rules.message?.required && value === undefined) problems.push(`${where}: is required`);
    const { case: kind, value: r } = (rules.type ?? {}) as { case?: string; value?: Rules };
    if (!kind || !r) return;
    if (kind === "string" && typeof value === "string") {
      if (has(r, "ignoreEmpty") && r.ignoreEmpty && value === "") return;
      if (has(r, "minLen") && [...value].length < Number(r.minLen)) problems.push(`${where}: shorter than ${r.minLen}`);
      if (has(r, "maxLen") && [...value].length > Number(r.maxLen)) problems.push(`${where}: longer than ${r.maxLen}`);
    } else if (kind === "repeated" && Array.isArray(value)) {
      if (has(r, "minItems") && value.length < Number(r.minItems)) problems.push(`${where}: needs at least ${r.minItems} items`);
    } else if (kind === "enum" && typeof value === "number" && f.fieldKind === "enum") {
      if (r.definedOnly && !f.enum.values.some((v) => v.number === value)) problems.push(`${where}: ${value} is not a defined value`);
    } else if (["uint32", "int32", "uint64", "int64", "double", "float"].includes(kind) && value !== undefined) {
      const n = Number(typeof value === "object" ? value.value : value);
      if (has(r, "gt") && !(n > Number(r.gt))) problems.push(`${where}: must be > ${r.gt}`);
      if (has(r, "gte") && !(n >= Number(r.gte))) problems.push(`${where}: must be >= ${r.gte}`);
      if (has(r, "lt") && !(n < Number(r.lt))) problems.push(`${where}: must be < ${r.lt}`);
      if (has(r, "lte") && !(n <= Number(r.lte))) problems.push(`${where}: must be <= ${r.lte}`);
    } else if (kind === "duration" && value !== undefined) {
      const seconds = Number(value.seconds ?? 0) + (value.nanos ?? 0) / 1e9;
      const bound = (d: any) => Number(d.seconds ?? 0) + (d.nanos ?? 0) / 1e9;
      if (r.gt && !(seconds > bound(r.gt))) problems.push(`${where}: must be longer than ${bound(r.gt)}s`);
      if (r.gte && !(seconds >= bound(r.gte))) problems.push(`${where}: must be at least ${bound(r.gte)}s`);
    }
  };

  walk(schema, message, path);
  return problems;
}
