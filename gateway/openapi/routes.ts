// Serves the API reference beside the API: the OpenAPI document at
// /openapi.json and a readable page at /docs, rendered by Swagger UI from the
// npm package swagger-ui-dist (a self-contained browser bundle with no
// runtime dependencies), served from node_modules. The page loads nothing
// from another origin: its Content-Security-Policy forbids it.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type http from "node:http";
import type { FileRegistry } from "@bufbuild/protobuf";
import { buildOpenApi } from "./openapi";

const require = createRequire(import.meta.url);

/** Where the renderer's files are (resolved once, from node_modules). */
function swaggerUiDir(): string {
  return dirname(require.resolve("swagger-ui-dist/package.json"));
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Payment Service API reference</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="reference"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

// validatorUrl: null keeps Swagger UI from sending the document to its public validator.
const INIT = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#reference",
  validatorUrl: null,
  deepLinking: true,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
  tryItOutEnabled: false
});
`;

function send(res: http.ServerResponse, status: number, type: string, body: string | Buffer, extra: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, {
    "Content-Type": type,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "public, max-age=300",
    "X-Content-Type-Options": "nosniff",
    ...extra,
  });
  res.end(body);
}

/** A route beside the API (the shape of gateway/server.ts's ExtraRoute). */
export interface DocsRoute {
  method: string;
  path: string;
  handle(req: http.IncomingMessage, res: http.ServerResponse): void;
}

/** Options of openApiRoutes. */
export interface OpenApiRoutesOptions {
  /** The descriptors to describe (default: gen/payments.binpb, as the gateway routes by). */
  registry?: FileRegistry;
}

/** The routes `/openapi.json`, `/docs` and the renderer's assets, for createGateway's `extraRoutes`. */
export function openApiRoutes(options: OpenApiRoutesOptions = {}): DocsRoute[] {
  let document: string | undefined;
  const json = () => (document ??= `${JSON.stringify(buildOpenApi(options.registry), null, 2)}\n`);
  const assets = new Map<string, Buffer>();
  const asset = (name: string) => {
    let data = assets.get(name);
    if (!data) assets.set(name, (data = readFileSync(join(swaggerUiDir(), name))));
    return data;
  };
  const html = (body: string) => (res: http.ServerResponse) =>
    send(res, 200, "text/html; charset=utf-8", body, { "Content-Security-Policy": CSP });

  const routes: Array<[string, (res: http.ServerResponse) => void]> = [
    ["/openapi.json", (res) => send(res, 200, "application/json", json(), { "Access-Control-Allow-Origin": "*" })],
    ["/docs", html(PAGE)],
    ["/docs/", html(PAGE)],
    ["/docs/init.js", (res) => send(res, 200, "text/javascript; charset=utf-8", INIT)],
    ["/docs/swagger-ui.css", (res) => send(res, 200, "text/css; charset=utf-8", asset("swagger-ui.css"))],
    ["/docs/swagger-ui-bundle.js", (res) => send(res, 200, "text/javascript; charset=utf-8", asset("swagger-ui-bundle.js"))],
    ["/docs/favicon-32x32.png", (res) => send(res, 200, "image/png", asset("favicon-32x32.png"))],
  ];
  return routes.flatMap(([path, handle]) =>
    ["GET", "HEAD"].map((method) => ({ method, path, handle: (_req: http.IncomingMessage, res: http.ServerResponse) => handle(res) })),
  );
}
