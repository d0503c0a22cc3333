// The webhook endpoints API: validation (url, mode, SSRF, event types),
// update, list, delete, and rolling the secret (both secrets sign meanwhile).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CustomerServiceClient } from "../../gen/payments/v1/customers";
import { WebhookEndpointServiceClient } from "../../gen/payments/v1/webhook_endpoints";
import { guardedLookup } from "../../server/webhooks/deliver";
import { isInternalAddress } from "../../server/webhooks/ssrf";
import { call } from "../support/grpc";
import { BACKENDS, startTestCore, type TestCore } from "../support/core";
import { startReceiver, verifyWebhookSignature, waitFor, type Receiver } from "./support";

describe("SSRF address classes", () => {
  it.each(["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "::1", "fe80::1", "fd00::1", "::ffff:10.0.0.1", "100.64.0.1"])(
    "%s is internal",
    (ip) => expect(isInternalAddress(ip)).toBe(true),
  );
  it.each(["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "172.32.0.1"])("%s is public", (ip) => expect(isInternalAddress(ip)).toBe(false));
  it("live connections refuse a hostname that resolves internally (DNS rebinding)", async () => {
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => guardedLookup("localhost", {}, (e) => resolve(e)));
    expect(err?.code).toBe("ERR_SSRF_BLOCKED");
  });
});

describe.each(BACKENDS)("webhook endpoints API (%s)", (backend) => {
  let core: TestCore;
  let endpoints: WebhookEndpointServiceClient;
  let customers: CustomerServiceClient;
  let receiver: Receiver;
  const md = () => core.metadata(core.keys.secret);
  const live = () => core.metadata(core.keys.liveSecret);

  beforeAll(async () => {
    core = await startTestCore({ backend, webhookWorker: { config: { pollMs: 200 } } });
    endpoints = core.client(WebhookEndpointServiceClient);
    customers = core.client(CustomerServiceClient);
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await core?.close();
    await receiver?.close();
  });

  it("validates url and enabled_events", async () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ url: "", enabled_events: ["*"] }, "parameter_missing", "url"],
      [{ url: "not a url", enabled_events: ["*"] }, "parameter_invalid", "url"],
      [{ url: "ftp://example.com/x", enabled_events: ["*"] }, "parameter_invalid", "url"],
      [{ url: receiver.url, enabled_events: [] }, "parameter_missing", "enabled_events"],
      [{ url: receiver.url, enabled_events: ["charge.exploded"] }, "parameter_invalid", "enabled_events"],
    ];
    for (const [req, code, param] of cases) {
      const res = await call(endpoints, "createWebhookEndpoint", { metadata: {}, ...req } as never, md());
      expect(res.detail, JSON.stringify(req)).toMatchObject({ type: "invalid_request_error", code, param });
    }
    const ok = await call(endpoints, "createWebhookEndpoint", { url: receiver.url, enabled_events: ["invoice.payment_succeeded", "customer.subscription.created", "charge.dispute.created"], metadata: {} }, md());
    expect(ok.error).toBeUndefined();
    await call(endpoints, "deleteWebhookEndpoint", { id: ok.value!.webhook_endpoint!.id }, md());
  });

  it("requires https in live mode and refuses internal addresses there; test mode allows http://localhost", async () => {
    const http = await call(endpoints, "createWebhookEndpoint", { url: "http://example.com/hook", enabled_events: ["*"], metadata: {} }, live());
    expect(http.detail).toMatchObject({ code: "parameter_invalid", param: "url", message: "Live mode webhook endpoints must use https." });
    for (const url of ["https://127.0.0.1/hook", "https://localhost/hook", "https://[::1]/hook", "https://169.254.169.254/latest", "https://10.0.0.8/x", "https://192.168.0.10/x"]) {
      const res = await call(endpoints, "createWebhookEndpoint", { url, enabled_events: ["*"], metadata: {} }, live());
      expect(res.detail, url).toMatchObject({ code: "parameter_invalid", param: "url" });
      expect(res.detail!.message).toContain("loopback, private or link-local");
    }
    const publicIp = await call(endpoints, "createWebhookEndpoint", { url: "https://8.8.8.8/hook", enabled_events: ["*"], metadata: {} }, live());
    expect(publicIp.error).toBeUndefined();
    expect(publicIp.value!.webhook_endpoint!.livemode).toBe(true);
    await call(endpoints, "deleteWebhookEndpoint", { id: publicIp.value!.webhook_endpoint!.id }, live());

    const local = await call(endpoints, "createWebhookEndpoint", { url: "http://localhost:3000/webhooks", enabled_events: ["*"], metadata: {} }, md());
    expect(local.error).toBeUndefined();
    expect(local.value!.webhook_endpoint!.livemode).toBe(false);
    await call(endpoints, "deleteWebhookEndpoint", { id: local.value!.webhook_endpoint!.id }, md());
  });

  it("refuses at delivery time a live endpoint that now points at an internal address", async () => {
    // As if the hostname had resolved to a public address when saved and to loopback now.
    const { db } = core.deps;
    const created = await call(endpoints, "createWebhookEndpoint", { url: "https://8.8.8.8/hook", enabled_events: ["customer.created"], metadata: {} }, live());
    const ep = created.value!.webhook_endpoint!;
    await db("webhook_endpoints").where({ id: ep.id }).update({ url: receiver.url.replace("http:", "https:").replace("127.0.0.1", "localhost") });
    const before = receiver.received.length;
    const cus = await call(customers, "createCustomer", { metadata: {} }, live());
    expect(cus.error).toBeUndefined();
    const d = await waitFor(async () => {
      const l = await call(endpoints, "listWebhookDeliveries", { webhook_endpoint: ep.id, event: "" }, live());
      return l.value!.data[0]?.attempts.length ? l.value!.data[0] : undefined;
    });
    expect(d.attempts[0].error).toBe("ssrf_blocked");
    expect(d.livemode).toBe(true);
    expect(receiver.received.length).toBe(before);
    await call(endpoints, "deleteWebhookEndpoint", { id: ep.id }, live());
  });

  it("updates, lists newest first, isolates merchants and modes, and deletes", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await call(endpoints, "createWebhookEndpoint", { url: `${receiver.url}?n=${i}`, enabled_events: ["*"], description: `n${i}`, metadata: { i: String(i) } }, md());
      ids.push(res.value!.webhook_endpoint!.id);
    }
    const upd = await call(endpoints, "updateWebhookEndpoint", { id: ids[0], enabled_events: ["customer.created"], disabled: true, metadata: { i: "", k: "v" } }, md());
    expect(upd.value!.webhook_endpoint).toMatchObject({ enabled_events: ["customer.created"], disabled: true, description: "n0", metadata: { k: "v" } });
    expect(upd.value!.webhook_endpoint!.secret).toBeUndefined();

    const page = await call(endpoints, "listWebhookEndpoints", { limit: 2 }, md());
    expect(page.value!.data.map((e) => e.id)).toEqual([ids[2], ids[1]]);
    expect(page.value!.has_more).toBe(true);
    expect(page.value!.data.every((e) => e.secret === undefined)).toBe(true);

    expect((await call(endpoints, "getWebhookEndpoint", { id: ids[0] }, core.metadata(core.otherMerchant.secret))).detail?.code).toBe("resource_missing");
    expect((await call(endpoints, "getWebhookEndpoint", { id: ids[0] }, live())).detail?.code).toBe("resource_missing");

    for (const id of ids) {
      const del = await call(endpoints, "deleteWebhookEndpoint", { id }, md());
      expect(del.value).toEqual({ id, object: "webhook_endpoint", deleted: true });
    }
    expect((await call(endpoints, "getWebhookEndpoint", { id: ids[0] }, md())).detail?.code).toBe("resource_missing");
  });

  it("sends only enabled event types and nothing to a disabled endpoint", async () => {
    const onlyUpdated = await call(endpoints, "createWebhookEndpoint", { url: `${receiver.url}?only=updated`, enabled_events: ["customer.updated"], metadata: {} }, md());
    const paused = await call(endpoints, "createWebhookEndpoint", { url: `${receiver.url}?paused=1`, enabled_events: ["*"], metadata: {} }, md());
    await call(endpoints, "updateWebhookEndpoint", { id: paused.value!.webhook_endpoint!.id, disabled: true, enabled_events: [], metadata: {} }, md());
    const cus = await call(customers, "createCustomer", { metadata: {} }, md());
    await call(customers, "updateCustomer", { id: cus.value!.customer!.id, name: "X", metadata: {} }, md());
    await waitFor(() => receiver.received.some((r) => JSON.parse(r.body).data.object.id === cus.value!.customer!.id));
    const mine = receiver.received.filter((r) => JSON.parse(r.body).data.object.id === cus.value!.customer!.id);
    expect(mine.map((r) => JSON.parse(r.body).type)).toEqual(["customer.updated"]);
    // The paused endpoint got no deliveries at all (recordEvent skips disabled endpoints).
    const list = await call(endpoints, "listWebhookDeliveries", { webhook_endpoint: paused.value!.webhook_endpoint!.id, event: "" }, md());
    expect(list.value!.data).toHaveLength(0);
    await call(endpoints, "deleteWebhookEndpoint", { id: onlyUpdated.value!.webhook_endpoint!.id }, md());
    await call(endpoints, "deleteWebhookEndpoint", { id: paused.value!.webhook_endpoint!.id }, md());
  });

  it("replays a create under its idempotency key with the same secret, never storing it in the clear", async () => {
    const req = { url: receiver.url, enabled_events: ["customer.created"], metadata: {} };
    const key = `we-create-${backend}-${Date.now()}`;
    const first = await call(endpoints, "createWebhookEndpoint", req, core.metadata(core.keys.secret, { "idempotency-key": key }));
    const again = await call(endpoints, "createWebhookEndpoint", req, core.metadata(core.keys.secret, { "idempotency-key": key }));
    const secret = first.value!.webhook_endpoint!.secret!;
    expect(secret).toMatch(/^whsec_/);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.value).toEqual(first.value);
    const rows = await core.deps.db("idempotency_keys").where({ key: `sk:${key}` }); // stored per key type
    expect(rows).toHaveLength(1);
    const stored = Buffer.from(rows[0].response as Uint8Array).toString("latin1");
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain("whsec_");
    await call(endpoints, "deleteWebhookEndpoint", { id: first.value!.webhook_endpoint!.id }, md());
  });

  it("rolls the secret: both the old and the new secret sign until the old one expires", async () => {
    const created = await call(endpoints, "createWebhookEndpoint", { url: `${receiver.url}?roll=1`, enabled_events: ["customer.created"], metadata: {} }, md());
    const ep = created.value!.webhook_endpoint!;
    const oldSecret = ep.secret!;
    const bad = await call(endpoints, "rollWebhookEndpointSecret", { id: ep.id, expires_in_seconds: 604_801 }, md());
    expect(bad.detail?.param).toBe("expires_in_seconds");
    const rolled = await call(endpoints, "rollWebhookEndpointSecret", { id: ep.id }, md());
    const newSecret = rolled.value!.webhook_endpoint!.secret!;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);

    const forRoll = () => receiver.received.filter((r) => r.headers["payments-signature"] && (r.body.includes("rolled@example.com") || r.body.includes("rolled2@example.com")));
    await call(customers, "createCustomer", { email: "rolled@example.com", metadata: {} }, md());
    const [during] = await waitFor(() => (forRoll().length >= 1 ? forRoll() : undefined));
    const header = during.headers["payments-signature"] as string;
    expect(header.match(/v1=/g)).toHaveLength(2);
    expect(verifyWebhookSignature(during.body, header, newSecret)).toBe(true);
    expect(verifyWebhookSignature(during.body, header, oldSecret)).toBe(true);

    // Roll again with no grace period: only the newest secret signs.
    const again = await call(endpoints, "rollWebhookEndpointSecret", { id: ep.id, expires_in_seconds: 0 }, md());
    const newest = again.value!.webhook_endpoint!.secret!;
    await call(customers, "createCustomer", { email: "rolled2@example.com", metadata: {} }, md());
    const after = await waitFor(() => forRoll().find((r) => r.body.includes("rolled2@example.com")));
    const header2 = after.headers["payments-signature"] as string;
    expect(header2.match(/v1=/g)).toHaveLength(1);
    expect(verifyWebhookSignature(after.body, header2, newest)).toBe(true);
    expect(verifyWebhookSignature(after.body, header2, newSecret)).toBe(false);
    await call(endpoints, "deleteWebhookEndpoint", { id: ep.id }, md());
  });
});
