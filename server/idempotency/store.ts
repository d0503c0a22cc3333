// Idempotency-Key: the first result of a mutating call is kept per merchant,
// mode and key, and replayed byte-for-byte. The claim is an INSERT on the
// table's primary key, so of many concurrent requests with one key, across
// processes too, exactly one runs the handler.
import { createHash, randomBytes } from "node:crypto";
import { status as GrpcStatus } from "@grpc/grpc-js";
import type { Knex } from "knex";
import type { ErrorDetail } from "../../gen/payments/v1/common";
import { idempotencyInFlight, idempotencyMismatch, invalidParam } from "../errors";
import { isUniqueViolation } from "../db/knex";
import type { MethodInfo } from "../methods";
import type { IdempotencyStore } from "../pipeline/pipeline";
import type { CallContext, CallResult, Caller } from "../pipeline/types";

/** Options of SqlIdempotencyStore. */
export interface IdempotencyOptions {
  /** How long a result is replayed, in seconds (default 24 h, as the API design says). */
  ttlSeconds?: number;
  /**
   * How long a claim may stay in flight, in seconds (default 60). A process
   * that crashes mid-request leaves its claim behind; after this it is
   * abandoned and the next request with the key runs afresh. Longer than any
   * handler may take (handlers are single database transactions). A crash
   * after the handler committed but before its result was stored therefore
   * lets a retry run it again; the handlers' state guards (confirm only from
   * requires_confirmation, ...) keep that from moving money twice.
   */
  inFlightSeconds?: number;
  /** Unix seconds now (tests pin it). */
  now?: () => number;
  /**
   * Encrypts and decrypts stored responses of methods whose responses carry a
   * secret (MethodInfo.secretResponse), so no secret rests in the clear here.
   */
  responseCipher?: { seal(bytes: Uint8Array): Uint8Array; open(bytes: Uint8Array): Uint8Array };
}

/** Longest accepted Idempotency-Key. */
export const MAX_KEY_LENGTH = 255;

/** The response header that marks a replay. */
export const REPLAYED_HEADER = "idempotent-replayed";

type Row = Record<string, unknown>;

/** The IdempotencyStore of the pipeline, on the `idempotency_keys` table. */
export class SqlIdempotencyStore implements IdempotencyStore {
  private readonly ttl: number;
  private readonly inFlight: number;
  private readonly now: () => number;
  private readonly cipher: IdempotencyOptions["responseCipher"];

  constructor(
    private readonly db: Knex,
    options: IdempotencyOptions = {},
  ) {
    this.ttl = options.ttlSeconds ?? 24 * 3600;
    this.inFlight = options.inFlightSeconds ?? 60;
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.cipher = options.responseCipher;
  }

  async run(
    ctx: CallContext & { caller: Caller; idempotencyKey: string },
    method: MethodInfo,
    request: Uint8Array,
    execute: () => Promise<CallResult>,
  ): Promise<CallResult> {
    const key = ctx.idempotencyKey;
    if (key.length > MAX_KEY_LENGTH) {
      throw invalidParam("idempotency_key", `Idempotency keys can be at most ${MAX_KEY_LENGTH} characters long.`);
    }
    const id = { merchant_id: ctx.caller.merchantId, livemode: ctx.caller.livemode, key };
    const requestHash = createHash("sha256").update(request).digest("hex");
    const claim = randomBytes(12).toString("hex");

    // Claim the key, or find who holds it. Look first (a retry then costs one
    // read), but only the INSERT decides: of racing requests exactly one
    // inserts, the others hit the primary key and look again. A row past its
    // expiry (abandoned claim, or a result older than the replay window) is
    // removed and the claim retried; each removal is of an expired row, so
    // the loop ends.
    let row: Row | undefined = await this.db("idempotency_keys").where(id).first();
    for (let attempt = 0; ; attempt++) {
      const now = this.now();
      if (row && Number(row.expires) <= now) {
        await this.db("idempotency_keys").where({ ...id, claim: row.claim }).delete();
        row = undefined;
      }
      if (row) {
        if (row.method !== method.path || row.request_hash !== requestHash) throw idempotencyMismatch(key);
        if (row.state !== "done") throw idempotencyInFlight(key);
        return replay(row, method.secretResponse ? this.cipher : undefined);
      }
      try {
        await this.db("idempotency_keys").insert({
          ...id,
          method: method.path,
          request_hash: requestHash,
          state: "in_flight",
          claim,
          created: now,
          expires: now + this.inFlight,
        });
        break;
      } catch (err) {
        if (!isUniqueViolation(err) || attempt >= 5) throw err;
      }
      row = await this.db("idempotency_keys").where(id).first();
    }

    let result: CallResult;
    try {
      result = await execute();
    } catch (err) {
      // Nothing was stored: let the next request with this key run.
      await this.db("idempotency_keys").where({ ...id, claim }).delete();
      throw err;
    }
    if (result.code === GrpcStatus.UNAVAILABLE) {
      // "Retry later" must not be replayed for 24 h: the retry runs afresh.
      await this.db("idempotency_keys").where({ ...id, claim }).delete();
      return result;
    }
    if (result.response && method.secretResponse && !this.cipher) {
      // No way to keep it sealed: don't keep it. A retry with the key then runs afresh.
      await this.db("idempotency_keys").where({ ...id, claim }).delete();
      return result;
    }
    const response = result.response && method.secretResponse ? this.cipher!.seal(result.response) : result.response;
    const now = this.now();
    await this.db("idempotency_keys")
      .where({ ...id, claim })
      .update({
        state: "done",
        response_code: result.code,
        response_message: result.message,
        response: response ? Buffer.from(response) : null,
        status_details: result.statusDetails ? Buffer.from(result.statusDetails) : null,
        error: result.error ? JSON.stringify(result.error) : null,
        headers: JSON.stringify(result.headers),
        expires: now + this.ttl,
      });
    return result;
  }

  /** Deletes results past their replay window and abandoned claims; returns how many. */
  async prune(): Promise<number> {
    return this.db("idempotency_keys").where("expires", "<=", this.now()).delete();
  }
}

function bytes(value: unknown): Uint8Array | undefined {
  if (value == null) return undefined;
  return value instanceof Uint8Array ? value : Buffer.from(value as string);
}

/** The stored result exactly as first sent, marked as a replay. */
function replay(row: Row, cipher: IdempotencyOptions["responseCipher"]): CallResult {
  const code = Number(row.response_code);
  const stored = bytes(row.response);
  return {
    code,
    message: (row.response_message as string) ?? "",
    // An empty message encodes to zero bytes, which a driver may return as null.
    response: (stored && cipher ? cipher.open(stored) : stored) ?? (code === 0 ? new Uint8Array(0) : undefined),
    statusDetails: bytes(row.status_details),
    error: row.error ? (JSON.parse(row.error as string) as ErrorDetail) : undefined,
    headers: { ...(row.headers ? JSON.parse(row.headers as string) : {}), [REPLAYED_HEADER]: "true" },
  };
}
