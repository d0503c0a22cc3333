// WebhookEndpointService: endpoints (create, read, update, delete, list, roll
// secret) and their deliveries (list with attempts, resend).
import type { Knex } from "knex";
import {
  WebhookEndpointServiceService,
  type WebhookDelivery,
} from "../../gen/payments/v1/webhook_endpoints";
import type { CoreDeps } from "../deps";
import { scopeOf, type Scope } from "../db/resources";
import { newId, randomToken } from "../domain/ids";
import { applyMetadata } from "../domain/money";
import { parsePage } from "../domain/pagination";
import { invalidParam, missingParam, resourceMissing, webhookDeliveryInProgress } from "../errors";
import { eventSeq } from "../events/store";
import { isEventType } from "../events/types";
import type { Handlers } from "../methods";
import { attemptDelivery, type DeliveryEnv } from "./deliver";
import { toDelivery, toEndpoint, type AttemptRow, type DeliveryRow, type EndpointRow } from "./mapper";
import { decryptSecret, encryptSecret, newSigningSecret } from "./secrets";
import { refusedAddressOf } from "./ssrf";
import {
  attemptsOf,
  deleteEndpoint,
  deliveryById,
  findDelivery,
  findEndpoint,
  insertEndpoint,
  leaseDeliveries,
  pageDeliveries,
  pageEndpoints,
  resumeDeliveries,
  updateEndpoint,
} from "./store";
import { deliveryEnv } from "./worker";

const MAX_URL = 2048;
const MAX_DESCRIPTION = 5000;
const DEFAULT_ROLL_SECONDS = 86_400;
const MAX_ROLL_SECONDS = 604_800;

/**
 * Checks an endpoint URL: absolute http(s); https in live mode; no internal
 * address (server/webhooks/ssrf.ts), except loopback in test mode.
 */
async function checkUrl(url: string, livemode: boolean): Promise<string> {
  if (url.length > MAX_URL) throw invalidParam("url", `url can have up to ${MAX_URL} characters.`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidParam("url", "Invalid URL: must be an absolute http(s) URL.");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw invalidParam("url", "Invalid URL: must be an absolute http(s) URL.");
  if (livemode && parsed.protocol !== "https:") throw invalidParam("url", "Live mode webhook endpoints must use https.");
  // A name that does not resolve yet is accepted: its DNS may be set up after
  // the endpoint; every delivery connects through the guarded lookup anyway.
  const refused = await refusedAddressOf(parsed.hostname, livemode).catch(() => undefined);
  if (refused) {
    throw invalidParam(
      "url",
      livemode
        ? "Live mode webhook endpoints cannot point to loopback, private or link-local addresses."
        : "Test mode webhook endpoints may point to loopback (localhost) for local development, but not to private, link-local or other internal addresses.",
    );
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
  const row = await findEndpoint(db, scope, id);
  if (!row) throw resourceMissing("webhook_endpoint", id, param);
  return row;
}

/** Deliveries with their attempts (oldest attempt first). */
async function withAttempts(db: Knex, rows: DeliveryRow[]): Promise<WebhookDelivery[]> {
  if (rows.length === 0) return [];
  const attempts = await attemptsOf(
    db,
    rows.map((r) => r.id),
  );
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
      await insertEndpoint(db, row);
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
      if (Object.keys(patch).length > 0) await updateEndpoint(db, current.id, patch);
      // Deliveries held while paused fall due now.
      if (req.disabled === false && current.disabled) await resumeDeliveries(db, current.id, Date.now());
      return { webhook_endpoint: toEndpoint({ ...current, ...patch }) };
    },

    async deleteWebhookEndpoint(ctx, req) {
      const endpoint = await loadEndpoint(db, scopeOf(ctx), req.id);
      await deleteEndpoint(db, endpoint.id);
      return { id: endpoint.id, object: "webhook_endpoint", deleted: true };
    },

    async listWebhookEndpoints(ctx, req) {
      const page = await pageEndpoints(db, scopeOf(ctx), parsePage(req));
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
      await updateEndpoint(db, endpoint.id, patch);
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
        if ((await eventSeq(db, scope, req.event)) === undefined) throw resourceMissing("event", req.event, "event");
        url = `/v1/events/${req.event}/deliveries`;
      }
      if (req.status !== undefined && !["pending", "succeeded", "failed"].includes(req.status)) {
        throw invalidParam("status", "status must be one of pending, succeeded, failed.");
      }
      const page = await pageDeliveries(db, scope, parsePage(req), { endpointId: req.webhook_endpoint, eventId: req.event, status: req.status });
      return { object: "list", data: await withAttempts(db, page.rows), has_more: page.hasMore, url };
    },

    async resendWebhookDelivery(ctx, req) {
      const scope = scopeOf(ctx);
      if (!req.id) throw missingParam("id");
      const row = await findDelivery(db, scope, req.id);
      if (!row) throw resourceMissing("webhook_delivery", req.id);
      const token = `resend_${randomToken(24)}`;
      const [leased] = await leaseDeliveries(db, [row.id], token, delivery().config.timeoutMs * 3, false);
      if (!leased) throw webhookDeliveryInProgress(row.id);
      await attemptDelivery(delivery(), leased, true);
      const after = await deliveryById(db, row.id);
      if (!after) throw resourceMissing("webhook_delivery", req.id);
      const [message] = await withAttempts(db, [after]);
      return { webhook_delivery: message };
    },
  };
}
