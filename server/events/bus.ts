// In-process signal that events were committed, so the webhook worker and
// open event streams react at once instead of waiting for their next poll.
// Other processes still find the rows by polling; the database is the truth.
import { EventEmitter } from "node:events";

/** What was committed: whose events (a hint; listeners re-read the database). */
export interface CommitSignal {
  merchantId: string;
  livemode: boolean;
  /** Whether webhook deliveries were created too. */
  deliveries: boolean;
}

const emitter = new EventEmitter();
emitter.setMaxListeners(0);

/** Calls `listener` after each commit that wrote events; returns the unsubscribe function. */
export function onEventsCommitted(listener: (signal: CommitSignal) => void): () => void {
  emitter.on("committed", listener);
  return () => emitter.off("committed", listener);
}

/** Announces a commit (or a state change that makes deliveries due, such as a resend). */
export function signalEventsCommitted(signal: CommitSignal): void {
  emitter.emit("committed", signal);
}
