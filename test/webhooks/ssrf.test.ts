// The SSRF guard in test mode: any sk_test_ key can create endpoints, and an
// attempt keeps 500 bytes of the answer, which the deliveries API returns. So
// test mode allows loopback (local development) and nothing else internal,
// when the URL is saved and again when a delivery connects.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CustomerServiceClient } from "../../gen/payments/v1/customers";
import { WebhookEndpointServiceClient } from "../../gen/payments/v1/webhook_endpoints";
import { guardedLookupFor } from "../../server/webhooks/deliver";
import { isRefusedAddress } from "../../server/webhooks/ssrf";
import { call } from "../support/grpc";
import { BACKENDS, startTestCore, type TestCore } from "../support/core";
import { startReceiver, waitFor, type Receiver } from "./support";

const INTERNAL_URLS = [
  "http://169.254.169.254/latest/meta-data/", // cloud metadata
  "http://0xa9fea9fe/latest/meta-data/", // the same, spelled in hex (URL parsing normalizes it)
  "http://[::ffff:169.254.169.254]/", // the same, IPv4-mapped
  "http://10.0.0.8:8080/admin",
  "http://172.16.3.4/",
  "http://192.168.1.1/",
  "http://100.64.0.1/", // CGNAT
  "http://0.0.0.0:9000/",
  "http://224.0.0.1/", // multicast
  "http://[fe80::1]/",
  "http://[fd00::1]/",
];

describe("test-mode address classes", () => {
  it.each(["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"])("%s (loopback) is allowed in test mode, refused in live mode", (ip) => {
    expect(isRefusedAddress(ip, false)).toBe(false);
    expect(isRefusedAddress(ip, true)).toBe(true);
  });
  it.each(["169.254.169.254", "10.0.0.1", "172.16.0.1", "192.168.0.1", "100.64.0.1", "0.0.0.0", "0.1.2.3", "224.0.0.1", "255.255.255.255", "fe80::1", "fd00::1", "::ffff:10.0.0.1", "::ffff:a9fe:a9fe", "::"])(
    "%s is refused in test mode too",
    (ip) => expect(isRefusedAddress(ip, false)).toBe(true),
  );
  it("8.8.8.8 is allowed in both modes", () => {
    expect(isRefusedAddress("8.8.8.8", false)).toBe(false);
    expect(isRefusedAddress("8.8.8.8", true)).toBe(false);
  });
  it("the test-mode connection lookup lets localhost through; the live one does not", async () => {
    const lookup = (livemode: boolean) =>
      new Promise<{ err: NodeJS.ErrnoException | null; address: string }>((resolve) =>
        guardedLookupFor(livemode)("localhost", { family: 4 }, (err, address) => resolve({ err, address: address as string })),
      );
    const test = await lookup(false);
    expect(test.err).toBeNull();
    expect(test.address).toBe("127.0.0.1");
    expect((await lookup(true)).err?.code).toBe("ERR_SSRF_BLOCKED");
  });
});

describe.each(BACKENDS)("test-mode SSRF guard (%s)", (backend) => {
  let core: TestCore;
  let endpoints: WebhookEndpointServiceClient;
  let customers: CustomerServiceClient;
  let receiver: Receiver;
  const md = () => core.metadata(core.keys.secret);

  beforeAll(async () => {
    core = await startTestCore({ backend, webhookWorker: { config: { pollMs: 100 } } });
    endpoints = core.client(WebhookEndpointServiceClient);
    customers = core.client(CustomerServiceClient);
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await core?.close();
    await receiver?.close();
  });

  it("refuses internal URLs on create and update, and allows loopback", async () => {
    for (const url of INTERNAL_URLS) {
      const res = await call(endpoints, "createWebhookEndpoint", { url, enabled_events: ["*"], metadata: {} }, md());
      expect(res.detail, url).toMatchObject({ type: "invalid_request_error", code: "parameter_invalid", param: "url" });
      expect(res.detail!.message).toContain("not to private, link-local or other internal addresses");
    }
    const ok = await call(endpoints, "createWebhookEndpoint", { url: receiver.url, enabled_events: ["*"], metadata: {} }, md());
    expect(ok.error).toBeUndefined();
    const id = ok.value!.webhook_endpoint!.id;
    for (const url of ["http://localhost:3000/webhooks", "http://[::1]:3000/webhooks", "http://127.0.0.2/x"]) {
      const res = await call(endpoints, "updateWebhookEndpoint", { id, url, enabled_events: [], metadata: {} }, md());
      expect(res.error, url).toBeUndefined();
    }
    for (const url of INTERNAL_URLS) {
      const res = await call(endpoints, "updateWebhookEndpoint", { id, url, enabled_events: [], metadata: {} }, md());
      expect(res.detail, url).toMatchObject({ code: "parameter_invalid", param: "url" });
    }
    expect((await call(endpoints, "getWebhookEndpoint", { id }, md())).value!.webhook_endpoint!.url).toBe("http://127.0.0.2/x");
    await call(endpoints, "deleteWebhookEndpoint", { id }, md());
  });

  it("refuses at connection time an endpoint stored with an internal address, and keeps no answer", async () => {
    // As if saved before the guard existed: the worker must not connect.
    const created = await call(endpoints, "createWebhookEndpoint", { url: receiver.url, enabled_events: ["customer.created"], metadata: {} }, md());
    const ep = created.value!.webhook_endpoint!;
    await core.deps.db("webhook_endpoints").where({ id: ep.id }).update({ url: "http://169.254.169.254/latest/meta-data/iam/security-credentials/" });
    const before = receiver.received.length;
    const cus = await call(customers, "createCustomer", { metadata: {} }, md());
    expect(cus.error).toBeUndefined();
    const d = await waitFor(async () => {
      const l = await call(endpoints, "listWebhookDeliveries", { webhook_endpoint: ep.id, event: "" }, md());
      return l.value!.data[0]?.attempts.length ? l.value!.data[0] : undefined;
    });
    expect(d.livemode).toBe(false);
    expect(d.attempts[0]).toMatchObject({ error: "ssrf_blocked" });
    expect(d.attempts[0].response_status).toBeUndefined();
    expect(d.attempts[0].response_snippet).toBeUndefined();
    // A resend is refused the same way.
    const resent = await call(endpoints, "resendWebhookDelivery", { id: d.id }, md());
    expect(resent.value!.webhook_delivery!.attempts.at(-1)).toMatchObject({ error: "ssrf_blocked" });
    expect(receiver.received.length).toBe(before);

    // The loopback receiver still gets deliveries in test mode.
    await core.deps.db("webhook_endpoints").where({ id: ep.id }).update({ url: receiver.url });
    const again = await call(customers, "createCustomer", { metadata: {} }, md());
    await waitFor(() => receiver.received.some((r) => JSON.parse(r.body).data.object.id === again.value!.customer!.id));
    await call(endpoints, "deleteWebhookEndpoint", { id: ep.id }, md());
  });
});
