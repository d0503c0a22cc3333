// `payments listen`: subscribes to the event stream over gRPC and forwards
// each event, signed with the session's secret, to a local URL.
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CustomerServiceClient } from "../../gen/payments/v1/customers";
import { startListener } from "../../server/cli/listen";
import { call } from "../support/grpc";
import { startTestCore, type TestCore } from "../support/core";
import { startReceiver, verifyWebhookSignature, waitFor, type Receiver } from "./support";

describe("payments listen", () => {
  let core: TestCore;
  let customers: CustomerServiceClient;
  let receiver: Receiver;
  let child: ChildProcess | undefined;
  const newCustomer = async (email: string) =>
    (await call(customers, "createCustomer", { email, metadata: {} }, core.metadata(core.keys.secret))).value!.customer!.id;

  beforeAll(async () => {
    core = await startTestCore({ webhookWorker: false });
    customers = core.client(CustomerServiceClient);
    receiver = await startReceiver();
    await newCustomer("before@example.com");
  });
  afterAll(async () => {
    child?.kill("SIGTERM");
    await core?.close();
    await receiver?.close();
  });

  it("forwards every event committed after it is ready, in order, signed with its secret", async () => {
    const lines: string[] = [];
    const listener = startListener({ forwardTo: receiver.url, apiKey: core.keys.secret, grpcTarget: core.grpcAddress, events: [], log: (l) => lines.push(l) });
    await listener.ready;
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push(await newCustomer(`fwd${i}@example.com`));
    await waitFor(() => lines.filter((l) => l.includes("<-- [200]")).length >= 5, 10_000, "5 forwarded events");
    listener.stop();
    expect(receiver.received.map((r) => JSON.parse(r.body).data.object.id)).toEqual(made);
    for (const r of receiver.received) {
      expect(r.headers["content-type"]).toBe("application/json");
      expect(verifyWebhookSignature(r.body, r.headers["payments-signature"] as string, listener.secret)).toBe(true);
    }
    expect(lines.filter((l) => l.includes("<-- [200]"))).toHaveLength(5);
  });

  it("runs as `npm run listen` with --events filtering", async () => {
    receiver.received.length = 0;
    child = spawn("npx", ["tsx", "server/cli/listen.ts", "listen", "--forward-to", receiver.url, "--api-key", core.keys.secret, "--grpc-target", core.grpcAddress, "--events", "customer.updated"], {
      cwd: process.cwd(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const secret = (await waitFor(() => /signing secret is (whsec_\w+)/.exec(out), 30_000, "listen to be ready"))[1];
    const id = await newCustomer("cli@example.com");
    await call(customers, "updateCustomer", { id, name: "From CLI", metadata: {} }, core.metadata(core.keys.secret));
    const got = await waitFor(() => receiver.received[0], 10_000, "forwarded update");
    expect(JSON.parse(got.body)).toMatchObject({ type: "customer.updated", data: { object: { id, name: "From CLI" } } });
    expect(verifyWebhookSignature(got.body, got.headers["payments-signature"] as string, secret)).toBe(true);
    await waitFor(() => out.includes("customer.updated"));
    expect(receiver.received.every((r) => JSON.parse(r.body).type === "customer.updated")).toBe(true);
  });

  it("refuses to start without a secret key", async () => {
    const proc = spawn("npx", ["tsx", "server/cli/listen.ts", "--forward-to", receiver.url, "--api-key", core.keys.publishable], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.on("exit", resolve));
    expect(code).toBe(2);
    expect(err).toContain("a secret API key is required");
  });
});
