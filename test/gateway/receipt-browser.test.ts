// The receipt page in a real browser: a charge made over REST has a
// receipt_url that points at the gateway; headless Chromium (Debian's
// `chromium`, driven by playwright-core) opens it and sees the amount and
// the card's last4.
import { existsSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer } from "node:net";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway } from "../../gateway/server";
import { startTestCore, type TestCore } from "../support/core";
import { closeServer } from "./support";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

// Skipped only where Chromium is missing outside CI; CI installs it (scripts/ci-packages.sh) and must run this.
describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)("receipt page in headless Chromium", () => {
  let core: TestCore;
  let gateway: Server;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // receipt_url is built from the public base URL: here, the gateway itself.
    core = await startTestCore({ backend: "sqlite", settings: { publicBaseUrl: base }, webhookWorker: false });
    gateway = createGateway({ dispatcher: core.pipeline });
    await new Promise<void>((resolve) => gateway.listen(port, "127.0.0.1", resolve));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (gateway) await closeServer(gateway);
    await core?.close();
  });

  const post = async (path: string, body: unknown) => {
    const res = await fetch(base + path, {
      method: "POST",
      headers: { authorization: `Bearer ${core.keys.secret}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as any;
  };

  it("opens the charge's receipt_url and shows the amount and last4", async () => {
    const pm = await post("/v1/payment_methods", { type: "card", card: { number: "5555555555554444", exp_month: 7, exp_year: new Date().getUTCFullYear() + 3, cvc: "123" } });
    const pi = await post("/v1/payment_intents", { amount: 4250, currency: "usd", payment_method: pm.id, confirm: true, description: "Order #77" });
    expect(pi.status).toBe("succeeded");
    const receiptUrl: string = pi.charges.data[0].receipt_url;
    expect(receiptUrl.startsWith(`${base}/receipts/ch_`)).toBe(true);

    const page = await browser.newPage();
    const foreign: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(base) && !r.url().startsWith("data:")) foreign.push(r.url());
    });
    const response = await page.goto(receiptUrl);
    expect(response?.status()).toBe(200);
    expect(response?.headers()["content-type"]).toMatch(/^text\/html/);
    const text = await page.locator("body").innerText();
    expect(text).toContain("42.50");
    expect(text).toContain("4444");
    expect(text.toLowerCase()).toContain("mastercard");
    expect(foreign).toEqual([]);
    // Never sniffed, and a CSP that lets the page's inline style in and nothing else.
    expect(response?.headers()["x-content-type-options"]).toBe("nosniff");
    expect(response?.headers()["content-security-policy"]).toMatch(/default-src 'none'/);
    // (Expressions as strings: the tests' tsconfig has no DOM types.)
    expect(await page.evaluate("getComputedStyle(document.body).backgroundColor")).toBe("rgb(246, 248, 250)");
    // What an HTML injection into the receipt could do: an inline script. The CSP refuses to run it.
    const injected = await page.evaluate(
      `(() => { const s = document.createElement("script"); s.textContent = "window.__injected = true"; document.body.appendChild(s); return window.__injected === true; })()`,
    );
    expect(injected).toBe(false);
    await page.close();
  });

  it("lets a page on a merchant's own origin create a payment method with the publishable key (CORS)", async () => {
    // The merchant's checkout page: another origin than the API.
    const shop = createHttpServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<!doctype html><title>shop</title><p>checkout</p>");
    });
    await new Promise<void>((resolve) => shop.listen(0, "127.0.0.1", resolve));
    const shopOrigin = `http://localhost:${(shop.address() as { port: number }).port}`;
    try {
      const page = await browser.newPage();
      await page.goto(shopOrigin);
      const result = await page.evaluate(
        async ({ api, key, year }) => {
          const res = await fetch(`${api}/v1/payment_methods`, {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "idempotency-key": "browser-1" },
            body: JSON.stringify({ type: "card", card: { number: "4242424242424242", exp_month: 12, exp_year: year, cvc: "123" } }),
          });
          return { status: res.status, requestId: res.headers.get("request-id"), body: await res.json() };
        },
        { api: base, key: core.keys.publishable, year: new Date().getUTCFullYear() + 2 },
      );
      expect(result.status).toBe(200);
      expect(result.body).toMatchObject({ object: "payment_method", card: { last4: "4242" } });
      expect(result.requestId).toMatch(/^req_/);
      await page.close();
    } finally {
      await new Promise((resolve) => shop.close(resolve));
    }
  });

  it("answers an unknown charge's receipt in the API's error format", async () => {
    const res = await fetch(`${base}/receipts/ch_doesnotexist`);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/json");
    const body = (await res.json()) as any;
    expect(body.error).toMatchObject({ type: "invalid_request_error", code: "resource_missing" });
    expect(body.error.request_id).toBe(res.headers.get("request-id"));
  });
});
