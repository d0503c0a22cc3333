// What every service's handlers are built from. server/app.ts assembles it.
import type { Knex } from "knex";

/** Settings the core's services read (server/config.ts fills them from the environment). */
export interface CoreSettings {
  /** Public base URL of the REST API, for `receipt_url` and 3-D Secure links. Default `http://localhost:8080`. */
  publicBaseUrl: string;
  /** Secret that keys card fingerprints (HMAC), per deployment. */
  fingerprintSecret: string;
}

/** Shared dependencies of the handlers. */
export interface CoreDeps {
  db: Knex;
  settings: CoreSettings;
  /** Unix seconds now; tests may pin it. */
  now(): number;
}
