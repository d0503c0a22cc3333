// Which processor serves a call: the simulator in test mode; in live mode
// only a configured connector (none is built in), so live payments fail loudly.
import { processorNotConfigured } from "../errors";
import type { Processor, Processors } from "./processor";
import { TestCardSimulator } from "./simulator";

/** The default processors: the simulator for test mode, nothing for live. */
export const defaultProcessors: Processors = { test: new TestCardSimulator() };

/** The processor for a mode, or `api_error` when live mode has none. */
export function processorFor(processors: Processors, livemode: boolean): Processor {
  const p = livemode ? processors.live : processors.test;
  if (!p) throw processorNotConfigured();
  return p;
}
