// `npm run gen` step: writes docs/openapi.json from the descriptor set that
// buf just built. Deterministic (sorted paths and schemas, no timestamps), so
// CI's regenerate-and-diff catches a stale copy.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildOpenApi } from "./openapi";

/** Where the generated document is kept in the repository. */
export const OPENAPI_PATH = fileURLToPath(new URL("../../docs/openapi.json", import.meta.url));

writeFileSync(OPENAPI_PATH, `${JSON.stringify(buildOpenApi(), null, 2)}\n`);
console.log(`wrote ${OPENAPI_PATH}`);
