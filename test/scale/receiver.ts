// A webhook receiver on loopback for the scale and fault tests: records every
// delivery (event id, signature, time) and answers as the test tells it.
import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** One delivery as the receiver saw it. */
export interface Received {
  eventId: string;
  type: string;
  /** `data.object.id` of the event. */
  objectId?: string;
  signature: string | undefined;
  at: number;
}

/** How the receiver answers: a status code, or "hang" (never answers), optionally after a delay. */
export type Behaviour = { status: number; delayMs?: number } | { hang: true };

export interface Receiver {
  url: string;
  received: Received[];
  /** Requests seen, whatever the answer. */
  attempts: number;
  behaviour: Behaviour;
  close(): Promise<void>;
}

/** Starts a receiver on 127.0.0.1 that answers 200 by default. */
export async function startReceiver(behaviour: Behaviour = { status: 200 }): Promise<Receiver> {
  const hanging = new Set<http.ServerResponse>();
  const state: Receiver = {
    url: "",
    received: [],
    attempts: 0,
    behaviour,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      state.attempts++;
      const b = state.behaviour;
      if ("hang" in b) {
        hanging.add(res);
        return;
      }
      const answer = () => {
        if (b.status >= 200 && b.status < 300) {
          try {
            const event = JSON.parse(Buffer.concat(chunks).toString());
            state.received.push({ eventId: event.id, type: event.type, objectId: event.data?.object?.id, signature: req.headers["payments-signature"] as string | undefined, at: Date.now() });
          } catch {
            // not an event; still answered
          }
        }
        res.writeHead(b.status, { "content-type": "text/plain" }).end(b.status < 300 ? "ok" : "no");
      };
      if (b.delayMs) setTimeout(answer, b.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`;
  return state;
}
