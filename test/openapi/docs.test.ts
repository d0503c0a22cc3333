// The served reference: /openapi.json through the gateway is the generated
// document, and /docs renders every route in headless Chromium (Debian's
// `chromium`, driven by playwright-core) without loading anything from
// another origin.
import { existsSync, readFileSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLiveService, type LiveService } from "../sdk/support";
import { OPENAPI_ROUTES_FROM_SPEC } from "./spec-routes";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const onDisk = JSON.parse(readFileSync(new URL("../../docs/openapi.json", import.meta.url), "utf8"));
const operations: string[] = Object.entries(onDisk.paths as Record<string, object>).flatMap(([path, ops]) =>
  Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
);

describe("API reference served by the gateway", () => {
  let service: LiveService;
  beforeAll(async () => {
    service = await startLiveService();
  });
  afterAll(async () => {
    await service?.close();
  });

  it("serves /openapi.json: the generated document", async () => {
    const res = await fetch(`${service.base}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual(onDisk);
  });

  it("serves /docs with a policy that forbids other origins", async () => {
    const res = await fetch(`${service.base}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//);
    const bundle = await fetch(`${service.base}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect(Number(bundle.headers.get("content-length"))).toBeGreaterThan(100_000);
  });

  // Skipped only on a developer machine without Chromium; CI installs it (scripts/ci-packages.sh) and must run this.
  describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)("in headless Chromium", () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
      });
    });
    afterAll(async () => {
      await browser?.close();
    });

    it("renders every route of the document, loading nothing from elsewhere", async () => {
      const page = await browser.newPage();
      const foreign: string[] = [];
      const failures: string[] = [];
      page.on("request", (req) => {
        const url = new URL(req.url());
        if (url.protocol !== "data:" && url.origin !== service.base) foreign.push(req.url());
      });
      page.on("pageerror", (err) => failures.push(err.message));
      page.on("console", (msg) => {
        if (msg.type() === "error") failures.push(msg.text());
      });
      await page.goto(`${service.base}/docs`);
      // Swagger UI renders one .opblock per operation; wait until all are there.
      await page.waitForFunction(`document.querySelectorAll(".opblock").length >= ${operations.length}`, undefined, { timeout: 20_000 });
      const shown: string[] = await page.$$eval(".opblock", (blocks) =>
        blocks.map((b) => {
          const method = b.querySelector(".opblock-summary-method")?.textContent?.trim() ?? "";
          const path = b.querySelector(".opblock-summary-path")?.getAttribute("data-path") ?? "";
          return `${method.toUpperCase()} ${path}`;
        }),
      );
      expect(shown.sort()).toEqual([...operations].sort());
      for (const route of OPENAPI_ROUTES_FROM_SPEC) expect(shown).toContain(route);
      // The title and a description from the proto comments made it onto the page.
      expect(await page.textContent(".info .title")).toContain("Payment Service API");
      expect(await page.textContent("body")).toContain("A PaymentIntent guides one payment");
      expect(foreign).toEqual([]);
      expect(failures).toEqual([]);
      await page.close();
    });
  });
});
