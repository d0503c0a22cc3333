// A Dispatcher over gRPC: the gateway running apart from the core
// (GRPC_TARGET) sends the same bytes and metadata over HTTP/2 that the
// in-process dispatch hands to the pipeline, and gets the same CallResult.
import * as grpc from "@grpc/grpc-js";
import type { CallResult, Dispatcher, Metadata, ResponseHeaders, StreamSink } from "../server/pipeline/types";
import { decodeStatusDetails } from "./errors";

const passThrough = (b: Buffer) => b;

function toGrpcMetadata(md: Metadata): grpc.Metadata {
  const out = new grpc.Metadata();
  for (const name in md) {
    try {
      out.set(name, md[name]);
    } catch {
      // Not a legal gRPC header name or value (e.g. non-ASCII): dropped, as Envoy would.
    }
  }
  return out;
}

function textOf(md: grpc.Metadata | undefined, into: ResponseHeaders): ResponseHeaders {
  if (!md) return into;
  const map = md.getMap();
  for (const name in map) {
    const value = map[name];
    if (typeof value === "string") into[name] = value;
  }
  return into;
}

function resultOf(status: grpc.StatusObject, headers: ResponseHeaders, response?: Buffer): CallResult {
  textOf(status.metadata, headers);
  if (status.code === grpc.status.OK) return { code: 0, message: "", response, headers };
  const raw = status.metadata?.get("grpc-status-details-bin")[0];
  const statusDetails = raw instanceof Buffer ? new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  return {
    code: status.code,
    message: status.details,
    statusDetails,
    error: statusDetails && decodeStatusDetails(statusDetails),
    headers,
  };
}

/** A Dispatcher to a remote core; also closes its channel. */
export interface GrpcDispatcher extends Dispatcher {
  close(): void;
}

/**
 * Connects to the core at `target` (`host:port`). Channel failures come back
 * as UNAVAILABLE results (the gateway answers 503), never as exceptions.
 */
export function createGrpcDispatcher(target: string, options: grpc.ChannelOptions = {}): GrpcDispatcher {
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), {
    "grpc.keepalive_time_ms": 30_000,
    ...options,
  });
  const bytes = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

  return {
    unary(path, request, metadata) {
      return new Promise<CallResult>((resolve) => {
        const headers: ResponseHeaders = {};
        let response: Buffer | undefined;
        const call = client.makeUnaryRequest(path, passThrough, passThrough, bytes(request), toGrpcMetadata(metadata), (_err, value) => {
          response = value;
        });
        call.on("metadata", (md) => textOf(md, headers));
        call.on("status", (status) => resolve(resultOf(status, headers, response)));
      });
    },

    serverStream(path, request, metadata, sink: StreamSink) {
      return new Promise<CallResult>((resolve) => {
        const headers: ResponseHeaders = {};
        const call = client.makeServerStreamRequest(path, passThrough, passThrough, bytes(request), toGrpcMetadata(metadata));
        const onAbort = () => call.cancel();
        sink.signal.addEventListener("abort", onAbort, { once: true });
        call.on("metadata", (md) => sink.sendHeaders(textOf(md, headers)));
        call.on("data", (message: Buffer) => {
          const pending = sink.write(message);
          if (pending) {
            call.pause();
            void pending.then(() => call.resume());
          }
        });
        call.on("error", () => {
          // Reported through "status".
        });
        call.on("status", (status) => {
          sink.signal.removeEventListener("abort", onAbort);
          resolve(resultOf(status, headers));
        });
      });
    },

    close: () => client.close(),
  };
}
