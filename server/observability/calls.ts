// The request log's two sources, with no state between them: the core logs
// every call it answers (the pipeline's onCall hook, with its request metrics),
// and the REST gateway logs only the replies it made itself (unknown route,
// bad JSON, body too large, core unreachable: the core never answered them),
// which it knows at the moment it makes them (GatewayOptions.onReply). So each
// request gets one line whether gateway and core share a process or not.
import type { Logger } from "pino";
import type { GatewayReply } from "../../gateway/server";
import type { CallRecord } from "../pipeline/pipeline";
import { logCall, logGatewayReply, statusCodeOf } from "./logger";
import { recordRequest } from "./metrics";

/** Builds PipelineOptions.onCall: logs the call and counts it. */
export function observeCalls(logger: Logger): (record: CallRecord) => void {
  let failures = 0;
  return (record) => {
    // The call has been answered: a failing log or metric must never turn it into an error.
    try {
      const statusCode = statusCodeOf(record);
      logCall(logger, record, statusCode);
      // Unknown paths are one series, so a client cannot grow the label set at will.
      recordRequest(record.method?.path ?? "unknown", statusCode, record.processingTimeMs / 1000);
    } catch (err) {
      if (failures++ === 0) process.emitWarning(`request log/metrics failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
}

/** Builds GatewayOptions.onReply: one log line per reply the gateway made without the core. */
export function logGatewayReplies(logger: Logger): (reply: GatewayReply) => void {
  return (reply) => logGatewayReply(logger, reply);
}
