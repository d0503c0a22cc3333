// WebhookEndpointService: endpoints (create, read, update, delete, list, roll
// secret) and their deliveries (list with attempts, resend).
import type { Knex } from "knex";
import {
  WebhookEndpointServiceService,
  type WebhookDelivery,
} from "../../gen/payments/v1/webhook_endpoints";
import type { CoreDeps } from "../deps";
import { pageRows, scopeOf, type Scope } from "../db/resources";
import { newId } from "../events/ids";
import { applyMetadata } from "../domain/money";
import { parsePage } from "../domain/pagination";
import { invalidParam, invalidState, missingParam, resourceMissing } from "../errors";
import { isEventType } from "../events/types";
import type { Handlers } from "../methods";
import { attemptDelivery, type DeliveryEnv } from "./deliver";
import { toDelivery, toEndpoint, type AttemptRow, type DeliveryRow, type EndpointRow } from "./mapper";
import { decryptSecret, encryptSecret, newSigningSecret } from "./secrets";
import { internalAddressOf } from "./ssrf";
import { deliveryEnv, leaseDeliveries } from "./worker";

const MAX_URL = 2048;
const MAX_DESCRIPTION = 5000;
const DEFAULT_ROLL_SECONDS = 86_400;
const MAX_ROLL_SECONDS = 604_800;

/** Checks an endpoint URL: absolute http(s); https and no internal addresses in live mode. */
async function checkUrl(url: string, livemode: boolean): Promise<string> {
  if (url.length > MAX_URL) throw invalidParam("url", `url can have up to ${MAX_URL} characters.`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidParam("url", "Invalid URL: must be an absolute http(s) URL.");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw invalidParam("url", "Invalid URL: must be an absolute http(s) URL.");
  if (livemode) {
    if (parsed.protocol !== "https:") throw invalidParam("url", "Live mode webhook endpoints must use https.");
    let internal: string | undefined;
    try {
      internal = await internalAddressOf(parsed.hostname);
    } catch {
      throw invalidParam("url", `The host ${parsed.hostname} could not be resolved.`);
    }
    if (internal) throw invalidParam("url", "Live mode webhook endpoints cannot point to loopback, private or link-local addresses.");
  }
  return parsed.toString();
}

/** Checks `enabled_events`: known types or `*`, at least one. */
function checkEnabledEvents(events: string[]): string[] {
  if (events.length === 0) throw missingParam("enabled_events");
  for (const type of events) {
    if (type !== "*" && !isEventType(type)) throw invalidParam("enabled_events", `Invalid event type: '${type}'.`);
  }
  return [...new Set(events)];
}

function description(value: string | undefined): string | null | undefined {
  if (value === undefined) return undefined;
  if (value.length > MAX_DESCRIPTION) throw invalidParam("description", `description can have up to ${MAX_DESCRIPTION} characters.`);
  return value === "" ? null : value;
}

async function loadEndpoint(db: Knex, scope: Scope, id: string, param = "id"): Promise<EndpointRow> {
  if (!id) throw missingParam(param);
  const row = (await db("webhook_endpoints").where({ id, merchant_id: scope.merchantId, livemode: scope.livemode }).first()) as EndpointRow | undefined;
  if (!row) throw resourceMissing("webhook_endpoint", id, param);
  return row;
}

/** Deliveries with their attempts (oldest attempt first). */
async function withAttempts(db: Knex, rows: DeliveryRow[]): Promise<WebhookDelivery[]> {
  if (rows.length === 0) return [];
  const attempts = (await db("webhook_attempts")
    .whereIn(
      "delivery_id",
      rows.map((r) => r.id),
    )
    .orderBy("seq", "asc")) as AttemptRow[];
  const byDelivery = new Map<string, AttemptRow[]>();
  for (const a of attempts) byDelivery.set(a.delivery_id, [...(byDelivery.get(a.delivery_id) ?? []), a]);
  return rows.map((r) => toDelivery(r, byDelivery.get(r.id) ?? []));
}

/** The WebhookEndpointService handlers. */
export function webhookEndpointHandlers(deps: CoreDeps): Handlers<typeof WebhookEndpointServiceService> {
  const { db } = deps;
  let env: DeliveryEnv | undefined;
  const delivery = () => (env ??= deliveryEnv(deps));

  return {
    async createWebhookEndpoint(ctx, req) {
      const scope = scopeOf(ctx);
      if (!req.url) throw missingParam("url");
      const url = await checkUrl(req.url, scope.livemode);
      const enabled = checkEnabledEvents(req.enabled_events);
      const secret = newSigningSecret();
      const row: EndpointRow = {
        seq: 0,
        id: newId("we"),
        merchant_id: scope.merchantId,
        livemode: scope.livemode,
        url,
        enabled_events: JSON.stringify(enabled),
        description: description(req.description) ?? null,
        disabled: false,
        metadata: JSON.stringify(applyMetadata(req.metadata)),
        secret_enc: encryptSecret(delivery().secretKey, secret),
        old_secret_enc: null,
        old_secret_expires_at: null,
        created: deps.now(),
      };
      const { seq: _seq, ...insert } = row;
      await db("webhook_endpoints").insert(insert);
      return { webhook_endpoint: toEndpoint(row, secret) };
    },

    async getWebhookEndpoint(ctx, req) {
      return { webhook_endpoint: toEndpoint(await loadEndpoint(db, scopeOf(ctx), req.id)) };
    },

    async updateWebhookEndpoint(ctx, req) {
      const scope = scopeOf(ctx);
      const current = await loadEndpoint(db, scope, req.id);
      const patch: Partial<EndpointRow> = {};
      if (req.url !== undefined) patch.url = await checkUrl(req.url, scope.livemode);
      if (req.enabled_events.length > 0) patch.enabled_events = JSON.stringify(checkEnabledEvents(req.enabled_events));
      if (req.description !== undefined) patch.description = description(req.description) ?? null;
      if (req.disabled !== undefined) patch.disabled = req.disabled;
      if (Object.keys(req.metadata).length > 0) {
        patch.metadata = JSON.stringify(applyMetadata(req.metadata, JSON.parse(current.metadata) as Record<string, string>));
      }
      if (Object.keys(patch).length > 0) await db("webhook_endpoints").where({ id: current.id }).update(patch);
      if (req.disabled === false && current.disabled) {
        // Deliveries held while paused fall due now.
        await db("webhook_deliveries").where({ webhook_endpoint_id: current.id, status: "pending" }).update({ next_attempt_ms: Date.now() });
      }
      return { webhook_endpoint: toEndpoint({ ...current, ...patch }) };
    },

    async deleteWebhookEndpoint(ctx, req) {
      const endpoint = await loadEndpoint(db, scopeOf(ctx), req.id);
      await db.transaction(async (trx) => {
        // Pending deliveries are dropped and stop counting in pending_webhooks;
        // finished ones stay as the event's history.
        const pending = (await trx("webhook_deliveries").select("id", "event_id").where({ webhook_endpoint_id: endpoint.id, status: "pending" })) as Array<{
          id: string;
          event_id: string;
        }>;
        if (pending.length > 0) {
          const ids = pending.map((p) => p.id);
          await trx("events").whereIn("id", [...new Set(pending.map((p) => p.event_id))]).where("pending_webhooks", ">", 0).decrement("pending_webhooks", 1);
          await trx("webhook_attempts").whereIn("delivery_id", ids).delete();
          await trx("webhook_deliveries").whereIn("id", ids).delete();
        }
        await trx("webhook_endpoints").where({ id: endpoint.id }).delete();
      });
      return { id: endpoint.id, object: "webhook_endpoint", deleted: true };
    },

    async listWebhookEndpoints(ctx, req) {
      const page = await pageRows<EndpointRow>(db, "webhook_endpoints", "webhook_endpoint", scopeOf(ctx), parsePage(req));
      return { object: "list", data: page.rows.map((r) => toEndpoint(r)), has_more: page.hasMore, url: "/v1/webhook_endpoints" };
    },

    async rollWebhookEndpointSecret(ctx, req) {
      const endpoint = await loadEndpoint(db, scopeOf(ctx), req.id);
      const expiresIn = req.expires_in_seconds ?? DEFAULT_ROLL_SECONDS;
      if (!Number.isInteger(expiresIn) || expiresIn < 0 || expiresIn > MAX_ROLL_SECONDS) {
        throw invalidParam("expires_in_seconds", `expires_in_seconds must be between 0 and ${MAX_ROLL_SECONDS}.`);
      }
      const key = delivery().secretKey;
      const secret = newSigningSecret();
      // Re-encrypt the outgoing secret so the stored form stays one format.
      const patch = {
        secret_enc: encryptSecret(key, secret),
        old_secret_enc: expiresIn > 0 ? encryptSecret(key, decryptSecret(key, endpoint.secret_enc)) : null,
        old_secret_expires_at: expiresIn > 0 ? Math.floor(Date.now() / 1000) + expiresIn : null,
      };
      await db("webhook_endpoints").where({ id: endpoint.id }).update(patch);
      return { webhook_endpoint: toEndpoint({ ...endpoint, ...patch }, secret) };
    },

    async listWebhookDeliveries(ctx, req) {
      const scope = scopeOf(ctx);
      if (!req.webhook_endpoint && !req.event) throw missingParam("webhook_endpoint", "Give webhook_endpoint or event.");
      let url: string;
      if (req.webhook_endpoint) {
        await loadEndpoint(db, scope, req.webhook_endpoint, "webhook_endpoint");
        url = `/v1/webhook_endpoints/${req.webhook_endpoint}/deliveries`;
      } else {
        const event = await db("events").where({ id: req.event, merchant_id: scope.merchantId, livemode: scope.livemode }).first("id");
        if (!event) throw resourceMissing("event", req.event, "event");
        url = `/v1/events/${req.event}/deliveries`;
      }
      if (req.status !== undefined && !["pending", "succeeded", "failed"].includes(req.status)) {
        throw invalidParam("status", "status must be one of pending, succeeded, failed.");
      }
      const page = await pageRows<DeliveryRow>(db, "webhook_deliveries", "webhook_delivery", scope, parsePage(req), (q) => {
        if (req.webhook_endpoint) q.where({ webhook_endpoint_id: req.webhook_endpoint });
        if (req.event) q.where({ event_id: req.event });
        if (req.status !== undefined) q.where({ status: req.status });
      });
      return { object: "list", data: await withAttempts(db, page.rows), has_more: page.hasMore, url };
    },

    async resendWebhookDelivery(ctx, req) {
      const scope = scopeOf(ctx);
      if (!req.id) throw missingParam("id");
      const row = (await db("webhook_deliveries").where({ id: req.id, merchant_id: scope.merchantId, livemode: scope.livemode }).first()) as
        | DeliveryRow
        | undefined;
      if (!row) throw resourceMissing("webhook_delivery", req.id);
      const token = `resend_${newId("lease")}`;
      const [leased] = await leaseDeliveries(db, [row.id], token, delivery().config.timeoutMs * 3, false);
      if (!leased) throw invalidState("webhook_delivery_in_progress", "This delivery is being sent right now. Try again in a moment.");
      await attemptDelivery(delivery(), leased, true);
      const after = (await db("webhook_deliveries").where({ id: row.id }).first()) as DeliveryRow | undefined;
      if (!after) throw resourceMissing("webhook_delivery", req.id);
      const [message] = await withAttempts(db, [after]);
      return { webhook_delivery: message };
    },
  };
}
