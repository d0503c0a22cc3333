// Every service's handlers, assembled for the pipeline. A service not listed
// answers UNIMPLEMENTED.
import type { ServiceHandlers } from "./methods";
import type { CoreDeps } from "./deps";

/** The handlers of every built service. */
export function allHandlers(_deps: CoreDeps): ServiceHandlers {
  return {};
}
