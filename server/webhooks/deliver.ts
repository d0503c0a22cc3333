// One delivery attempt: sign the event, POST it, record the attempt and
// decide what happens next (done, retry later, or failed for good). Used by
// the worker for due deliveries and by the resend API for an immediate one.
import type { Knex } from "knex";
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import { Event } from "../../gen/payments/v1/events";
import { toEvent, type EventRow } from "../events/mapper";
import { toCanonicalJson } from "../json";
import { retryDelayMs, type WebhookConfig } from "./config";
import type { DeliveryRow, EndpointRow } from "./mapper";
import { decryptSecret } from "./secrets";
import { signatureHeader } from "./signature";
import { internalAddressOf } from "./ssrf";

/** How many bytes of the receiver's answer an attempt keeps. */
const SNIPPET_BYTES = 500;

/** What an attempt needs besides the delivery. */
export interface DeliveryEnv {
  db: Knex;
  config: WebhookConfig;
  /** The key that decrypts signing secrets. */
  secretKey: Buffer;
  /** The per-endpoint rate limiter (shared by everything delivering in this process). */
  limiter: RateLimiterMemory;
}

/** The per-endpoint rate limiter of the API design's `webhook_delivery` class. */
export function endpointLimiter(ratePerMinute: number): RateLimiterMemory {
  return new RateLimiterMemory({ keyPrefix: "webhook_endpoint", points: ratePerMinute, duration: 60 });
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

/** The secrets that sign now: the current one, and the previous one during a roll. */
export function signingSecrets(endpoint: EndpointRow, key: Buffer, nowSeconds: number): string[] {
  const secrets = [decryptSecret(key, endpoint.secret_enc)];
  if (endpoint.old_secret_enc && Number(endpoint.old_secret_expires_at ?? 0) > nowSeconds) {
    secrets.push(decryptSecret(key, endpoint.old_secret_enc));
  }
  return secrets;
}

async function readSnippet(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (total < SNIPPET_BYTES) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.byteLength;
  }
  if (total >= SNIPPET_BYTES) void reader.cancel().catch(() => undefined);
  return Buffer.concat(chunks).subarray(0, SNIPPET_BYTES).toString("utf8");
}

function errorCode(err: unknown): string {
  const e = err as { name?: string; cause?: { code?: string; name?: string } };
  if (e.name === "TimeoutError" || e.cause?.name === "TimeoutError") return "timeout";
  switch (e.cause?.code) {
    case "ECONNREFUSED":
      return "connection_refused";
    case "ECONNRESET":
    case "UND_ERR_SOCKET":
      return "connection_reset";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "dns_error";
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
      return "timeout";
    default:
      return e.cause?.code ? `network_error:${e.cause.code}` : "network_error";
  }
}

/** POSTs `body` to `url`; never throws. 2xx within the timeout is success; redirects are not followed. */
async function post(url: string, body: string, signature: string, timeoutMs: number): Promise<HttpResult> {
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "payments-signature": signature, "user-agent": "Payments-Webhooks/1.0" },
      body,
      redirect: "manual",
      signal,
    });
    const snippet = await readSnippet(res);
    return { status: res.status, snippet, latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    return { error: errorCode(err), latencyMs: Math.round(performance.now() - started) };
  }
}

/** Releases a lease without counting an attempt, to try again at `dueMs`. */
async function postpone(db: Knex, delivery: DeliveryRow, leaseToken: string, dueMs: number): Promise<void> {
  await db("webhook_deliveries")
    .where({ id: delivery.id, lease_owner: leaseToken })
    .update({ next_attempt_ms: dueMs, lease_owner: null, lease_expires_ms: null });
}

/**
 * Makes one attempt at `delivery`, which the caller has leased under
 * `leaseToken`. `manual` (the resend API) sends even to a disabled endpoint
 * and never turns a finished delivery back into a retrying one.
 */
export async function attemptDelivery(env: DeliveryEnv, delivery: DeliveryRow, leaseToken: string, manual = false): Promise<AttemptOutcome> {
  const { db, config } = env;
  const [event, endpoint] = await Promise.all([
    db("events").where({ id: delivery.event_id }).first() as Promise<EventRow | undefined>,
    db("webhook_endpoints").where({ id: delivery.webhook_endpoint_id }).first() as Promise<EndpointRow | undefined>,
  ]);
  if (!event || !endpoint) {
    // The event was pruned or the endpoint deleted: nothing left to deliver.
    await db("webhook_deliveries").where({ id: delivery.id, lease_owner: leaseToken }).delete();
    return "dropped";
  }
  if (!manual && endpoint.disabled) {
    // A paused endpoint keeps its deliveries; they go out once it is enabled.
    await postpone(db, delivery, leaseToken, Date.now() + 60_000);
    return "postponed";
  }
  try {
    await env.limiter.consume(endpoint.id);
  } catch (err) {
    if (!(err instanceof RateLimiterRes)) throw err;
    await postpone(db, delivery, leaseToken, Date.now() + err.msBeforeNext);
    return "postponed";
  }

  const startedSeconds = Math.floor(Date.now() / 1000);
  let result: HttpResult;
  const internal = Boolean(endpoint.livemode) ? await internalAddressOf(new URL(endpoint.url).hostname).catch(() => undefined) : undefined;
  if (internal) {
    result = { error: "ssrf_blocked", latencyMs: 0 };
  } else {
    const body = eventBody(event);
    const signature = signatureHeader(signingSecrets(endpoint, env.secretKey, startedSeconds), startedSeconds, body);
    result = await post(endpoint.url, body, signature, config.timeoutMs);
  }
  const ok = result.status !== undefined && result.status >= 200 && result.status < 300;

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

  let lost = false;
  await db.transaction(async (trx) => {
    await trx("webhook_attempts").insert({
      delivery_id: delivery.id,
      created: startedSeconds,
      response_status: result.status ?? null,
      latency_ms: result.latencyMs,
      response_snippet: result.snippet ?? null,
      error: result.error ?? null,
    });
    const changed = await trx("webhook_deliveries").where({ id: delivery.id, lease_owner: leaseToken }).update(update);
    if (changed === 0) {
      // Our lease expired and another worker took the delivery over; it decides.
      lost = true;
      return;
    }
    if (ok && delivery.status !== "succeeded") {
      await trx("events").where({ id: delivery.event_id }).where("pending_webhooks", ">", 0).decrement("pending_webhooks", 1);
    }
  });
  return lost ? "lost_lease" : outcome;
}
