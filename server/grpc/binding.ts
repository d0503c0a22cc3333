// The grpc-js binding of the pipeline: every method of the contract is
// registered with pass-through serializers, so the pipeline receives and
// returns the wire bytes exactly as the gateway's in-process dispatch does.
import * as grpc from "@grpc/grpc-js";
import { METHODS } from "../methods";
import type { CallResult, Dispatcher, Metadata, ResponseHeaders } from "../pipeline/types";

const passThrough = {
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
};

/** gRPC metadata → the pipeline's text metadata (binary `-bin` keys are dropped). */
export function metadataToRecord(md: grpc.Metadata): Metadata {
  const out: Metadata = {};
  for (const [key, value] of Object.entries(md.getMap())) {
    if (typeof value === "string") out[key] = value;
  }
  return out;
}

function toMetadata(headers: ResponseHeaders): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [key, value] of Object.entries(headers)) md.set(key, value);
  return md;
}

/** A failed call's status; its headers ride in the trailers too, where clients read error metadata. */
function statusOf(result: CallResult): Partial<grpc.StatusObject> {
  const trailers = toMetadata(result.headers);
  if (result.statusDetails) trailers.set("grpc-status-details-bin", Buffer.from(result.statusDetails));
  return { code: result.code, details: result.message, metadata: trailers };
}

/** Adds every service of the contract to `server`, answering through `dispatcher`. */
export function addServices(server: grpc.Server, dispatcher: Dispatcher): void {
  const byService = new Map<string, Record<string, grpc.MethodDefinition<Buffer, Buffer>>>();
  for (const info of METHODS.values()) {
    const def = byService.get(info.service) ?? {};
    def[info.name] = {
      path: info.path,
      requestStream: false,
      responseStream: info.serverStreaming,
      originalName: info.name,
      ...passThrough,
    } as grpc.MethodDefinition<Buffer, Buffer>;
    byService.set(info.service, def);
  }
  for (const [service, def] of byService) {
    const impl: grpc.UntypedServiceImplementation = {};
    for (const [name, method] of Object.entries(def)) {
      impl[name] = method.responseStream
        ? async (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
            const abort = new AbortController();
            call.on("cancelled", () => abort.abort());
            const result = await dispatcher.serverStream(method.path, call.request, metadataToRecord(call.metadata), {
              signal: abort.signal,
              sendHeaders: (headers) => call.sendMetadata(toMetadata(headers)),
              write: (message) =>
                new Promise<void>((resolve) => {
                  if (call.write(Buffer.from(message))) resolve();
                  else call.once("drain", () => resolve());
                }),
            });
            if (abort.signal.aborted) return;
            if (result.code === 0) call.end();
            else call.emit("error", statusOf(result));
          }
        : async (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
            const result = await dispatcher.unary(method.path, call.request, metadataToRecord(call.metadata));
            call.sendMetadata(toMetadata(result.headers));
            if (result.code === 0) callback(null, Buffer.from(result.response!));
            else callback(statusOf(result), null);
          };
    }
    server.addService(def as grpc.ServiceDefinition, impl);
  }
}

/** Starts a gRPC server on `host:port` (port 0 picks a free one); resolves with the bound port. */
export function listen(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
}
