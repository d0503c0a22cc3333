// The google.api.HttpRule path templates and the router built from them.
// Grammar (google/api/http.proto):
//
//     Template = "/" Segments [ Verb ] ;
//     Segments = Segment { "/" Segment } ;
//     Segment  = "*" | "**" | LITERAL | Variable ;
//     Variable = "{" FieldPath [ "=" Segments ] "}" ;
//     FieldPath = IDENT { "." IDENT } ;
//     Verb     = ":" LITERAL ;
//
// Routes are compiled once into one trie per HTTP method; matching tries a
// literal segment before `*` before `**`, so `/v1/events/stream` wins over
// `/v1/events/{id}` whatever order the rules were declared in.

/** One segment of a compiled template. */
export type Segment = { kind: "literal"; value: string } | { kind: "star" } | { kind: "doubleStar" };

/** A variable of a template: the request field it sets and the segments it spans. */
export interface Variable {
  /** The field path, e.g. `["payment", "id"]`. */
  fieldPath: string[];
  /** Index of its first segment. */
  start: number;
  /** Index after its last segment (`-1`: up to the end, after a `**`). */
  end: number;
}

/** A parsed path template. */
export interface PathTemplate {
  segments: Segment[];
  variables: Variable[];
  /** The custom verb after `:`, or `""`. */
  verb: string;
}

/** Thrown for a template that does not follow the grammar. */
export class TemplateError extends Error {
  constructor(template: string, reason: string) {
    super(`invalid path template ${JSON.stringify(template)}: ${reason}`);
    this.name = "TemplateError";
  }
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
// RFC 3986 pchar minus "/" and the template's own syntax characters.
const LITERAL = /^[A-Za-z0-9\-._~%!$&'()+,;=@]+$/;

/** Parses a path template (`/v1/{name=shelves/*}/books:publish`). */
export function parseTemplate(template: string): PathTemplate {
  const fail = (reason: string): never => {
    throw new TemplateError(template, reason);
  };
  if (!template.startsWith("/")) fail("must start with /");
  let body = template.slice(1);
  let verb = "";
  // A verb is a ":" after the last "/" that is not inside a variable.
  const lastSlash = body.lastIndexOf("/");
  const lastClose = body.lastIndexOf("}");
  const colon = body.indexOf(":", Math.max(lastSlash, lastClose) + 1);
  if (colon >= 0) {
    verb = body.slice(colon + 1);
    body = body.slice(0, colon);
    if (!LITERAL.test(verb)) fail(`bad verb ${JSON.stringify(verb)}`);
  }
  const segments: Segment[] = [];
  const variables: Variable[] = [];
  let i = 0;
  const parseSegment = (inVariable: boolean): void => {
    if (body.startsWith("**", i)) {
      segments.push({ kind: "doubleStar" });
      i += 2;
    } else if (body[i] === "*") {
      segments.push({ kind: "star" });
      i += 1;
    } else if (body[i] === "{") {
      if (inVariable) fail("nested variable");
      const close = body.indexOf("}", i);
      if (close < 0) fail("unclosed {");
      const inner = body.slice(i + 1, close);
      const eq = inner.indexOf("=");
      const path = eq < 0 ? inner : inner.slice(0, eq);
      const fieldPath = path.split(".");
      if (!fieldPath.every((p) => IDENT.test(p))) fail(`bad field path ${JSON.stringify(path)}`);
      if (variables.some((v) => v.fieldPath.join(".") === path)) fail(`variable ${path} bound twice`);
      const start = segments.length;
      if (eq < 0) {
        segments.push({ kind: "star" });
      } else {
        const saved = body;
        const savedI = i;
        body = inner.slice(eq + 1);
        i = 0;
        parseSegments(true);
        if (i !== body.length) fail(`unexpected ${JSON.stringify(body.slice(i))} in variable ${path}`);
        body = saved;
        i = savedI;
      }
      variables.push({ fieldPath, start, end: segments.length });
      i = close + 1;
    } else {
      let j = i;
      while (j < body.length && body[j] !== "/") j++;
      const literal = body.slice(i, j);
      if (!LITERAL.test(literal)) fail(`bad literal ${JSON.stringify(literal)}`);
      segments.push({ kind: "literal", value: literal });
      i = j;
    }
  };
  const parseSegments = (inVariable: boolean): void => {
    parseSegment(inVariable);
    while (i < body.length && body[i] === "/") {
      i++;
      parseSegment(inVariable);
    }
  };
  parseSegments(false);
  if (i !== body.length) fail(`unexpected ${JSON.stringify(body.slice(i))}`);
  const dstar = segments.findIndex((s) => s.kind === "doubleStar");
  if (dstar >= 0 && dstar !== segments.length - 1) fail("** must be the last segment");
  for (const v of variables) if (v.end === segments.length && dstar >= 0 && v.start <= dstar) v.end = -1;
  return { segments, variables, verb };
}

/** A variable's value as matched: its field path and its (decoded) text. */
export interface Binding {
  fieldPath: string[];
  value: string;
}

interface Node<T> {
  literals: Map<string, Node<T>>;
  star?: Node<T>;
  /** Routes ending in `**`, by verb. */
  doubleStar?: Map<string, Compiled<T>>;
  /** Routes ending here, by verb. */
  leaves?: Map<string, Compiled<T>>;
}

interface Compiled<T> {
  template: PathTemplate;
  value: T;
}

/** The result of a successful match. */
export interface Match<T> {
  value: T;
  bindings: Binding[];
}

const newNode = <T>(): Node<T> => ({ literals: new Map() });

/** Decodes one path segment's percent-escapes; a multi-segment value keeps `%2F` as is (HttpRule). */
function decodeSegment(raw: string, multi: boolean): string {
  if (!raw.includes("%")) return raw;
  try {
    return multi ? raw.replace(/%(?!2[Ff])[0-9A-Fa-f]{2}/g, (m) => decodeURIComponent(m)) : decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * Routes HTTP method + path to values (e.g. RPCs) by their templates, with
 * literal-before-wildcard precedence. Knows nothing of any particular API.
 */
export class Router<T> {
  private readonly tries = new Map<string, Node<T>>();

  /** Adds a route; throws if the same method, template shape and verb are bound twice. */
  add(method: string, template: string | PathTemplate, value: T): void {
    const parsed = typeof template === "string" ? parseTemplate(template) : template;
    const key = method.toUpperCase();
    let node: Node<T> | undefined = this.tries.get(key);
    if (!node) this.tries.set(key, (node = newNode<T>()));
    for (const seg of parsed.segments) {
      if (seg.kind === "literal") {
        let next: Node<T> | undefined = node.literals.get(seg.value);
        if (!next) node.literals.set(seg.value, (next = newNode<T>()));
        node = next;
      } else if (seg.kind === "star") {
        node = node.star ??= newNode<T>();
      } else {
        node.doubleStar ??= new Map();
        this.leaf(node.doubleStar, parsed, value, method, template);
        return;
      }
    }
    node.leaves ??= new Map();
    this.leaf(node.leaves, parsed, value, method, template);
  }

  private leaf(map: Map<string, Compiled<T>>, template: PathTemplate, value: T, method: string, raw: string | PathTemplate): void {
    if (map.has(template.verb)) throw new Error(`duplicate route ${method.toUpperCase()} ${typeof raw === "string" ? raw : "(template)"}`);
    map.set(template.verb, { template, value });
  }

  /** Finds the route for `method` and `path` (no query string), or undefined. */
  match(method: string, path: string): Match<T> | undefined {
    const root = this.tries.get(method.toUpperCase());
    if (!root || path[0] !== "/") return undefined;
    const segments = path.slice(1).split("/");
    const last = segments[segments.length - 1];
    const colon = last.lastIndexOf(":");
    if (colon >= 0) {
      // `/v1/things/abc:cancel`: try the custom verb first, then the whole segment as a literal.
      const withVerb = segments.slice(0, -1);
      withVerb.push(last.slice(0, colon));
      const found = this.walk(root, withVerb, 0, last.slice(colon + 1));
      if (found) return found;
    }
    return this.walk(root, segments, 0, "");
  }

  /** Every method (upper-case, sorted) that has at least one route. */
  methods(): string[] {
    return [...this.tries.keys()].sort();
  }

  /** The methods (upper-case) that have a route for `path`: the `Allow` of a 405. */
  allowed(path: string): string[] {
    return [...this.tries.keys()].filter((m) => this.match(m, path) !== undefined);
  }

  private walk(node: Node<T>, segs: string[], i: number, verb: string): Match<T> | undefined {
    if (i === segs.length) {
      const leaf = node.leaves?.get(verb) ?? node.doubleStar?.get(verb);
      return leaf && this.bind(leaf, segs);
    }
    const lit = node.literals.get(segs[i]);
    if (lit) {
      const found = this.walk(lit, segs, i + 1, verb);
      if (found) return found;
    }
    if (node.star && segs[i] !== "") {
      const found = this.walk(node.star, segs, i + 1, verb);
      if (found) return found;
    }
    const rest = node.doubleStar?.get(verb);
    return rest && this.bind(rest, segs);
  }

  private bind(route: Compiled<T>, segs: string[]): Match<T> {
    const bindings: Binding[] = [];
    for (const v of route.template.variables) {
      const end = v.end < 0 ? segs.length : v.end;
      const multi = end - v.start !== 1;
      const parts = segs.slice(v.start, end).map((s) => decodeSegment(s, multi));
      bindings.push({ fieldPath: v.fieldPath, value: parts.join("/") });
    }
    return { value: route.value, bindings };
  }
}
