// The pipeline's onCall hook: each finished call becomes one log line and its
// request metrics, with the same HTTP status equivalent in both.
import type { Logger } from "pino";
import type { CallRecord } from "../pipeline/pipeline";
import { logCall, statusCodeOf } from "./logger";
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
