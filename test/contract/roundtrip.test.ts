// A real gRPC round trip through the generated client and the core's grpc-js
// binding: a method with no handler answers UNIMPLEMENTED with the API's
// error object in the status details.
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorDetail } from "../../gen/payments/v1/common";
import { RefundServiceClient } from "../../gen/payments/v1/refunds";
import { ERROR_DETAIL_TYPE_URL, invalidApiKey } from "../../server/errors";
import { addServices, listen } from "../../server/grpc/binding";
import { Pipeline } from "../../server/pipeline/pipeline";

let server: grpc.Server;
let client: RefundServiceClient;

beforeAll(async () => {
  server = new grpc.Server();
  const pipeline = new Pipeline({
    handlers: {},
    auth: {
      authenticate: async (authorization) => {
        if (authorization !== "Bearer sk_test_roundtrip") throw invalidApiKey();
        return { merchantId: "acct_1", livemode: false, keyType: "secret", keyId: "key_1" };
      },
    },
  });
  addServices(server, pipeline);
  const port = await listen(server, "127.0.0.1:0");
  client = new RefundServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterAll(() => {
  client?.close();
  server?.forceShutdown();
});

function call(key: string | undefined): Promise<grpc.ServiceError> {
  const md = new grpc.Metadata();
  if (key) md.set("authorization", `Bearer ${key}`);
  return new Promise((resolve, reject) =>
    client.getRefund({ id: "re_123" }, md, (err, res) => (err ? resolve(err) : reject(new Error(`unexpected ${JSON.stringify(res)}`)))),
  );
}

/** The ErrorDetail inside google.rpc.Status (field 3: Any{type_url, value}). */
function detailOf(err: grpc.ServiceError): ErrorDetail {
  const raw = err.metadata.get("grpc-status-details-bin")[0] as Buffer;
  expect(raw).toBeInstanceOf(Buffer);
  const text = raw.toString("latin1");
  expect(text).toContain(ERROR_DETAIL_TYPE_URL);
  // Skip to the Any value: the last length-delimited field of the Any.
  const anyStart = text.indexOf(ERROR_DETAIL_TYPE_URL) + ERROR_DETAIL_TYPE_URL.length;
  expect(raw[anyStart]).toBe(0x12);
  return ErrorDetail.decode(raw.subarray(anyStart + 2));
}

describe("gRPC round trip", () => {
  it("answers an unbuilt method with UNIMPLEMENTED and the error object", async () => {
    const err = await call("sk_test_roundtrip");
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
    const detail = detailOf(err);
    expect(detail.type).toBe("api_error");
    expect(detail.request_id).toMatch(/^req_[0-9a-f]{24}$/);
    expect(err.metadata.get("request-id")).toEqual([detail.request_id]);
  });

  it("rejects a missing key with UNAUTHENTICATED and invalid_api_key", async () => {
    const err = await call(undefined);
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(detailOf(err)).toMatchObject({ type: "authentication_error", code: "invalid_api_key" });
  });
});
