// `npm run listen -- --forward-to http://localhost:3000/webhooks --api-key sk_test_…`
// Subscribes to the merchant's live event stream over gRPC and forwards each
// event to a local URL, signed exactly like a webhook delivery, with a
// signing secret for this session (printed at start; `--secret` to pin one).
// When the stream drops it reconnects from the last event it forwarded, so
// nothing is missed.
import * as grpc from "@grpc/grpc-js";
import { pathToFileURL } from "node:url";
import { Event, EventServiceClient, type StreamEventsResponse } from "../../gen/payments/v1/events";
import { toCanonicalJson } from "../json";
import { newSigningSecret } from "../webhooks/secrets";
import { signatureHeader } from "../webhooks/signature";

const USAGE = `Usage: npm run listen -- --forward-to URL [--api-key sk_test_...] [options]
  --forward-to URL      where to POST each event (e.g. http://localhost:3000/webhooks)
  --api-key KEY         secret API key (or PAYMENTS_API_KEY)
  --events a,b          only these event types (default: all)
  --grpc-target H:P     the core's gRPC address (or GRPC_TARGET; default 127.0.0.1:50051)
  --secret whsec_...    signing secret to use (default: a new one for this session)`;

/** What the listener is told. */
export interface ListenOptions {
  forwardTo: string;
  apiKey: string;
  grpcTarget: string;
  events: string[];
  secret?: string;
  /** Where progress lines go (default console.log). */
  log?: (line: string) => void;
}

/** A running listener. */
export interface Listener {
  /** The secret that signs the forwarded events. */
  secret: string;
  /** Resolves once the subscription is in place (events after this point are forwarded). */
  ready: Promise<void>;
  /** The last event forwarded, the resume point of a reconnect. */
  lastEventId(): string | undefined;
  stop(): void;
}

/** Starts forwarding the merchant's events to `options.forwardTo`. */
export function startListener(options: ListenOptions): Listener {
  const secret = options.secret ?? newSigningSecret();
  const log = options.log ?? ((line: string) => console.log(line));
  const client = new EventServiceClient(options.grpcTarget, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${options.apiKey}`);
  let last: string | undefined;
  let stopped = false;
  let current: grpc.ClientReadableStream<StreamEventsResponse> | undefined;
  let backoffMs = 250;
  // Forwarding is sequential: the local app sees events in stream order.
  let queue = Promise.resolve();

  async function forward(event: Event): Promise<void> {
    const body = JSON.stringify(toCanonicalJson("payments.v1.Event", Event, event));
    const t = Math.floor(Date.now() / 1000);
    try {
      const res = await fetch(options.forwardTo, {
        method: "POST",
        headers: { "content-type": "application/json", "payments-signature": signatureHeader([secret], t, body) },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      log(`${new Date().toISOString()}  --> ${event.type} [${event.id}]  <-- [${res.status}] POST ${options.forwardTo}`);
    } catch (err) {
      log(`${new Date().toISOString()}  --> ${event.type} [${event.id}]  failed to POST ${options.forwardTo}: ${(err as Error).cause ?? (err as Error).message}`);
    }
  }

  // Start from the newest existing event, so everything committed from now
  // on is replayed even if it lands before the stream is set up.
  const ready = new Promise<void>((resolve, reject) => {
    client.listEvents({ limit: 1 }, metadata, (err, res) => {
      if (err) return reject(new Error(`could not reach the event stream: ${err.details || err.message}`));
      last = res.data[0]?.id;
      resolve();
    });
  });

  function subscribe(): void {
    if (stopped) return;
    const stream = client.streamEvents({ types: options.events, starting_after: last }, metadata);
    current = stream;
    stream.on("data", (m: StreamEventsResponse) => {
      backoffMs = 250;
      const event = m.event!;
      last = event.id;
      queue = queue.then(() => forward(event));
    });
    stream.on("error", (err: grpc.ServiceError) => {
      if (stopped || err.code === grpc.status.CANCELLED) return;
      if (err.code === grpc.status.UNAUTHENTICATED || err.code === grpc.status.PERMISSION_DENIED || err.code === grpc.status.INVALID_ARGUMENT) {
        log(`stream refused: ${err.details}`);
        stopped = true;
        client.close();
        return;
      }
      log(`stream interrupted (${err.details || err.code}); reconnecting from ${last ?? "now"}`);
      setTimeout(subscribe, backoffMs);
      backoffMs = Math.min(backoffMs * 2, 10_000);
    });
  }

  void ready.then(subscribe, (err: Error) => {
    log(err.message);
    stopped = true;
    client.close();
  });

  return {
    secret,
    ready,
    lastEventId: () => last,
    stop() {
      stopped = true;
      current?.cancel();
      client.close();
    },
  };
}

function parseArgs(args: string[], env: NodeJS.ProcessEnv): ListenOptions | string {
  const opts: Partial<ListenOptions> = { apiKey: env.PAYMENTS_API_KEY, grpcTarget: env.GRPC_TARGET ?? "127.0.0.1:50051", events: [] };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    const value = () => inline ?? args[++i];
    switch (flag) {
      case "listen": // `payments listen ...`
        break;
      case "--forward-to":
        opts.forwardTo = value();
        break;
      case "--api-key":
        opts.apiKey = value();
        break;
      case "--events":
        opts.events = (value() ?? "").split(",").filter(Boolean);
        break;
      case "--grpc-target":
        opts.grpcTarget = value();
        break;
      case "--secret":
        opts.secret = value();
        break;
      default:
        return `Unknown argument: ${args[i]}`;
    }
  }
  if (!opts.forwardTo) return "--forward-to is required";
  if (!/^https?:\/\//.test(opts.forwardTo)) return "--forward-to must be an http(s) URL";
  if (!opts.apiKey?.startsWith("sk_")) return "a secret API key is required: --api-key sk_test_... (or PAYMENTS_API_KEY)";
  return opts as ListenOptions;
}

async function main(): Promise<void> {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    console.log(USAGE);
    return;
  }
  const parsed = parseArgs(process.argv.slice(2), process.env);
  if (typeof parsed === "string") {
    console.error(`${parsed}\n\n${USAGE}`);
    process.exit(2);
  }
  const listener = startListener(parsed);
  await listener.ready.catch(() => process.exit(1));
  console.log(`Ready! Your webhook signing secret is ${listener.secret} (^C to quit)`);
  const quit = () => {
    listener.stop();
    process.exit(0);
  };
  process.on("SIGINT", quit);
  process.on("SIGTERM", quit);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) void main();
