// The live service for SDK tests: a real core (test harness) behind the real
// REST gateway on 127.0.0.1:0, with the reference routes, as `npm start` runs
// them in one process.
import type { AddressInfo } from "node:net";
import http from "node:http";
import { createGateway } from "../../gateway/server";
import { openApiRoutes } from "../../gateway/openapi/routes";
import { startTestCore, type TestCore, type TestCoreOptions } from "../support/core";

/** A running core + gateway. */
export interface LiveService {
  core: TestCore;
  /** `http://127.0.0.1:<port>`: the SDKs' base URL. */
  base: string;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:0; resolves with the base URL. */
export function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

/** Closes a server and its idle connections. */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Starts a core and the gateway in front of it. */
export async function startLiveService(opts: TestCoreOptions = {}): Promise<LiveService> {
  const core = await startTestCore(opts);
  const gateway = createGateway({ dispatcher: core.pipeline, extraRoutes: openApiRoutes() });
  const base = await listen(gateway);
  return {
    core,
    base,
    async close() {
      await closeServer(gateway);
      await core.close();
    },
  };
}
