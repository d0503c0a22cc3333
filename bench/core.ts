// The real core, started inside a benchmark server child (filled in as the core lands).
import type { ServerInfo } from "./servers";

/** Starts the core and its in-process REST gateway as `npm start` runs them. */
export async function startBenchCore(_options: Record<string, unknown>): Promise<ServerInfo> {
  throw new Error("the core has not landed yet");
}
