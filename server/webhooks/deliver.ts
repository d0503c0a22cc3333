// One delivery attempt: sign the event, POST it, record the attempt and
// decide what happens next (done, retry later, or failed for good). Used by
// the worker for due deliveries and by the resend API for an immediate one.
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import * as http from "node:http";
import * as https from "node:https";
import type { LookupFunction } from "node:net";
import type { Knex } from "knex";
import { Event } from "../../gen/payments/v1/events";
import { toEvent, type EventRow } from "../events/mapper";
import { toCanonicalJson } from "../json";
import { retryDelayMs, type WebhookConfig } from "./config";
import type { DeliveryRow, EndpointRow } from "./mapper";
import { decryptSecret } from "./secrets";
import { signatureHeader } from "./signature";
import { dropDelivery, eventsAndEndpoints, postponeDelivery } from "./store";
import { isRefusedAddress, refusedAddressOf } from "./ssrf";
import type { EndpointLimiter } from "../ratelimit/limiter";
import type { AttemptRecorder } from "./recorder";
import { recordWebhookAttempt } from "../observability/metrics";

/** How many bytes of the receiver's answer an attempt keeps. */
const SNIPPET_BYTES = 500;

/** What an attempt needs besides the delivery. */
export interface DeliveryEnv {
  db: Knex;
  config: WebhookConfig;
  /** The key that decrypts signing secrets. */
  secretKey: Buffer;
  /** The per-endpoint rate limiter (with REDIS_URL shared by every core process). */
  limiter: EndpointLimiter;
  /** Writes attempt outcomes in shared transactions. */
  recorder: AttemptRecorder;
}

/** What became of one attempt. */
export type AttemptOutcome = "succeeded" | "retrying" | "failed" | "postponed" | "dropped" | "lost_lease";

interface HttpResult {
  status?: number;
  snippet?: string;
  error?: string;
  latencyMs: number;
}

/** The exact body POSTed for an event: canonical JSON of the Event message. */
export function eventBody(row: EventRow): string {
  return JSON.stringify(toCanonicalJson("payments.v1.Event", Event, toEvent(row)));
}

// Decrypted secrets by their stored (encrypted) form, so a busy endpoint's
// secret is not decrypted for every delivery. Bounded; a rolled secret has a
// new stored form, so an entry is never stale.
const decrypted = new Map<string, string>();
const DECRYPTED_MAX = 10_000;

function secretOf(key: Buffer, stored: string): string {
  let secret = decrypted.get(stored);
  if (secret === undefined) {
    secret = decryptSecret(key, stored);
    if (decrypted.size >= DECRYPTED_MAX) decrypted.clear();
    decrypted.set(stored, secret);
  }
  return secret;
}

/** The secrets that sign now: the current one, and the previous one during a roll. */
export function signingSecrets(endpoint: EndpointRow, key: Buffer, nowSeconds: number): string[] {
  const secrets = [secretOf(key, endpoint.secret_enc)];
  if (endpoint.old_secret_enc && Number(endpoint.old_secret_expires_at ?? 0) > nowSeconds) {
    secrets.push(secretOf(key, endpoint.old_secret_enc));
  }
  return secrets;
}

function errorCode(err: unknown): string {
  switch ((err as { code?: string }).code) {
    case "ECONNREFUSED":
      return "connection_refused";
    case "ECONNRESET":
    case "EPIPE":
      return "connection_reset";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "dns_error";
    case "ERR_SSRF_BLOCKED":
      return "ssrf_blocked";
    default: {
      const code = (err as { code?: string }).code;
      return code ? `network_error:${code}` : "network_error";
    }
  }
}

/**
 * A DNS lookup that refuses addresses an endpoint of this mode may not use
 * (server/webhooks/ssrf.ts), checked on every connection as it is resolved,
 * so a hostname that passed the check when the endpoint was saved cannot
 * later be pointed at an internal address (DNS rebinding). IP literals skip
 * DNS; runJob checks those before connecting.
 */
export function guardedLookupFor(livemode: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "", 0);
      const list = addresses as LookupAddress[];
      const refused = list.find((a) => isRefusedAddress(a.address, livemode));
      if (refused) {
        return callback(Object.assign(new Error(`refusing internal address ${refused.address}`), { code: "ERR_SSRF_BLOCKED" }), "", 0);
      }
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      callback(null, list[0].address, list[0].family);
    });
  };
}

/** The live-mode guarded lookup: every internal address refused. */
export const guardedLookup = guardedLookupFor(true);

// Keep-alive connections per mode: node:http with a pooled agent sends
// several times more requests per second than fetch here, and every agent's
// sockets have passed the SSRF guard of their mode.
const AGENTS = {
  test: { http: new http.Agent({ keepAlive: true, lookup: guardedLookupFor(false) }), https: new https.Agent({ keepAlive: true, lookup: guardedLookupFor(false) }) },
  live: { http: new http.Agent({ keepAlive: true, lookup: guardedLookup }), https: new https.Agent({ keepAlive: true, lookup: guardedLookup }) },
};

/** POSTs `body` to `url`; never throws. 2xx within the timeout is success; redirects are not followed. */
function post(url: string, body: string, signature: string, timeoutMs: number, livemode: boolean): Promise<HttpResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: Omit<HttpResult, "latencyMs">) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ ...r, latencyMs: Math.round(performance.now() - started) });
    };
    const target = new URL(url);
    const secure = target.protocol === "https:";
    const agents = livemode ? AGENTS.live : AGENTS.test;
    const req = (secure ? https : http).request(
      target,
      {
        method: "POST",
        agent: secure ? agents.https : agents.http,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          "payments-signature": signature,
          "user-agent": "Payments-Webhooks/1.0",
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on("data", (chunk: Buffer) => {
          if (kept < SNIPPET_BYTES) {
            chunks.push(chunk);
            kept += chunk.length;
          }
        });
        res.on("end", () => finish({ status: res.statusCode, snippet: Buffer.concat(chunks).subarray(0, SNIPPET_BYTES).toString("utf8") }));
        res.on("error", (err) => finish({ error: errorCode(err) }));
      },
    );
    // The whole exchange, answer included, must fit in the timeout.
    const timer = setTimeout(() => {
      finish({ error: "timeout" });
      req.destroy();
    }, timeoutMs);
    req.on("error", (err) => finish({ error: errorCode(err) }));
    req.end(body);
  });
}

/** A leased delivery with the event and endpoint it needs (absent when since deleted). */
export interface DeliveryJob {
  delivery: DeliveryRow;
  leaseToken: string;
  event?: EventRow;
  endpoint?: EndpointRow;
  /** The event's body, printed once per batch however many endpoints get it. */
  body?: string;
}

/** Loads the events and endpoints of leased deliveries: two queries for the whole batch. */
export async function loadJobs(db: Knex, deliveries: DeliveryRow[]): Promise<DeliveryJob[]> {
  if (deliveries.length === 0) return [];
  const [events, endpoints] = await eventsAndEndpoints(
    db,
    [...new Set(deliveries.map((d) => d.event_id))],
    [...new Set(deliveries.map((d) => d.webhook_endpoint_id))],
  );
  const eventById = new Map(events.map((e) => [e.id, e]));
  const endpointById = new Map(endpoints.map((e) => [e.id, e]));
  const bodies = new Map<string, string>();
  return deliveries.map((d) => {
    const event = eventById.get(d.event_id);
    let body = bodies.get(d.event_id);
    if (event && body === undefined) bodies.set(d.event_id, (body = eventBody(event)));
    return { delivery: d, leaseToken: d.lease_owner!, event, endpoint: endpointById.get(d.webhook_endpoint_id), body };
  });
}

/**
 * Makes one attempt at a leased delivery and records it. `manual` (the
 * resend API) sends even to a disabled endpoint and never turns a finished
 * delivery back into a retrying one.
 */
export async function runJob(env: DeliveryEnv, job: DeliveryJob, manual = false): Promise<AttemptOutcome> {
  const { db, config } = env;
  const { delivery, leaseToken, event, endpoint } = job;
  if (!event || !endpoint) {
    // The event was pruned or the endpoint deleted: nothing left to deliver.
    await dropDelivery(db, delivery.id, leaseToken);
    return "dropped";
  }
  if (!manual && endpoint.disabled) {
    // A paused endpoint keeps its deliveries; they go out once it is enabled.
    await postponeDelivery(db, delivery.id, leaseToken, Date.now() + 60_000);
    return "postponed";
  }
  const budget = await env.limiter.take(endpoint.id);
  if (!budget.allowed) {
    await postponeDelivery(db, delivery.id, leaseToken, Date.now() + budget.retryAfterMs);
    return "postponed";
  }

  const startedSeconds = Math.floor(Date.now() / 1000);
  let result: HttpResult;
  // Both modes: an IP literal in the URL never reaches the agent's guarded lookup.
  const refused = await refusedAddressOf(new URL(endpoint.url).hostname, Boolean(endpoint.livemode)).catch(() => undefined);
  if (refused) {
    result = { error: "ssrf_blocked", latencyMs: 0 };
  } else {
    const body = job.body ?? eventBody(event);
    const signature = signatureHeader(signingSecrets(endpoint, env.secretKey, startedSeconds), startedSeconds, body);
    result = await post(endpoint.url, body, signature, config.timeoutMs, Boolean(endpoint.livemode));
  }
  const ok = result.status !== undefined && result.status >= 200 && result.status < 300;
  recordWebhookAttempt({ ok, lagSeconds: startedSeconds - Number(event.created), failureReason: ok ? undefined : (result.error?.split(":")[0] ?? "http_status") });

  const attempts = Number(delivery.attempt_count) + 1;
  const schedule = Boolean(delivery.livemode) ? config.liveSchedule : config.testSchedule;
  let outcome: AttemptOutcome;
  const update: Record<string, unknown> = { attempt_count: attempts, lease_owner: null, lease_expires_ms: null };
  if (ok) {
    outcome = "succeeded";
    Object.assign(update, { status: "succeeded", next_attempt_ms: null });
  } else if (manual && delivery.status !== "pending") {
    // A failed manual resend leaves a finished delivery as it was.
    outcome = delivery.status === "failed" ? "failed" : "succeeded";
  } else {
    const delay = retryDelayMs(schedule, attempts);
    if (delay === undefined) {
      outcome = "failed";
      Object.assign(update, { status: "failed", next_attempt_ms: null });
    } else {
      outcome = "retrying";
      Object.assign(update, { status: "pending", next_attempt_ms: Date.now() + delay });
    }
  }

  const applied = await env.recorder.record({
    deliveryId: delivery.id,
    eventId: delivery.event_id,
    leaseToken,
    attempt: {
      created: startedSeconds,
      response_status: result.status ?? null,
      latency_ms: result.latencyMs,
      response_snippet: result.snippet ?? null,
      error: result.error ?? null,
    },
    update,
    decrementPending: ok && delivery.status !== "succeeded",
  });
  // Not applied: our lease expired and another worker took the delivery over; it decides.
  return applied ? outcome : "lost_lease";
}

/** Loads and attempts one leased delivery (the resend API). */
export async function attemptDelivery(env: DeliveryEnv, delivery: DeliveryRow, manual = false): Promise<AttemptOutcome> {
  const [job] = await loadJobs(env.db, [delivery]);
  return runJob(env, job, manual);
}
