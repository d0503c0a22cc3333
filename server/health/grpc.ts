// grpc.health.v1.Health on the core's gRPC server, so load balancers,
// Kubernetes' grpc probe and grpc_health_probe can ask whether it serves.
//
// Written by hand rather than with the `grpc-health-check` package: both
// messages have one scalar field, so their wire codec is a few lines with
// @bufbuild/protobuf's reader/writer (already a dependency), while the package
// would load health.proto at run time through @grpc/proto-loader and
// protobufjs, two more dependencies for two fields.
import * as grpc from "@grpc/grpc-js";
import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";

/** grpc.health.v1.HealthCheckResponse.ServingStatus. */
export enum ServingStatus {
  UNKNOWN = 0,
  SERVING = 1,
  NOT_SERVING = 2,
  /** Only in Watch: the service is not known (Check answers NOT_FOUND instead). */
  SERVICE_UNKNOWN = 3,
}

/** HealthCheckRequest { string service = 1; } */
export function decodeHealthCheckRequest(bytes: Uint8Array): { service: string } {
  const r = new BinaryReader(bytes);
  let service = "";
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 1) service = r.string();
    else r.skip(wire);
  }
  return { service };
}

/** HealthCheckResponse { ServingStatus status = 1; } */
export function encodeHealthCheckResponse(status: ServingStatus): Uint8Array {
  const w = new BinaryWriter();
  if (status !== 0) w.uint32(8).int32(status);
  return w.finish();
}

/** The serving status of the server ("") and of each service, with watchers. */
export class HealthStatus {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<(status: ServingStatus) => void>>();

  /** Sets a service's status ("" is the whole server) and tells its watchers. */
  set(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const notify of this.watchers.get(service) ?? []) notify(status);
  }

  /** Sets every known service, and the server, to `status` (NOT_SERVING when shutting down). */
  setAll(status: ServingStatus): void {
    for (const service of [...this.statuses.keys()]) this.set(service, status);
  }

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** Calls `notify` on every change of `service`; returns the unsubscribe function. */
  watch(service: string, notify: (status: ServingStatus) => void): () => void {
    let set = this.watchers.get(service);
    if (!set) this.watchers.set(service, (set = new Set()));
    set.add(notify);
    return () => set.delete(notify);
  }
}

const raw = {
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
};

/** The Health service definition over raw bytes (the codecs above do the rest). */
export const HEALTH_SERVICE: grpc.ServiceDefinition = {
  Check: { path: "/grpc.health.v1.Health/Check", requestStream: false, responseStream: false, originalName: "check", ...raw },
  Watch: { path: "/grpc.health.v1.Health/Watch", requestStream: false, responseStream: true, originalName: "watch", ...raw },
};

/** Adds grpc.health.v1.Health to `server`, answering from `health`. */
export function addHealthService(server: grpc.Server, health: HealthStatus): void {
  server.addService(HEALTH_SERVICE, {
    Check(call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) {
      let service: string;
      try {
        service = decodeHealthCheckRequest(call.request).service;
      } catch {
        return callback({ code: grpc.status.INVALID_ARGUMENT, details: "malformed HealthCheckRequest" }, null);
      }
      const status = health.get(service);
      if (status === undefined) return callback({ code: grpc.status.NOT_FOUND, details: `unknown service '${service}'` }, null);
      callback(null, Buffer.from(encodeHealthCheckResponse(status)));
    },
    Watch(call: grpc.ServerWritableStream<Buffer, Buffer>) {
      let service = "";
      try {
        service = decodeHealthCheckRequest(call.request).service;
      } catch {
        call.emit("error", { code: grpc.status.INVALID_ARGUMENT, details: "malformed HealthCheckRequest" });
        return;
      }
      const send = (status: ServingStatus) => call.write(Buffer.from(encodeHealthCheckResponse(status)));
      send(health.get(service) ?? ServingStatus.SERVICE_UNKNOWN);
      const unwatch = health.watch(service, send);
      call.on("cancelled", unwatch);
      call.on("close", unwatch);
    },
  });
}

/** Serves Health on `server` and marks the server ("") and every payments.v1 service SERVING. */
export function serveHealth(server: grpc.Server, health: HealthStatus, services: Iterable<string>): void {
  addHealthService(server, health);
  health.set("", ServingStatus.SERVING);
  for (const service of services) health.set(`payments.v1.${service}`, ServingStatus.SERVING);
}
