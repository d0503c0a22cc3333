// Idempotency-Key: the first result of a mutating call is kept per merchant,
// mode, key type (publishable or secret) and key, and replayed byte-for-byte.
// The claim is an INSERT on the table's primary key, so of many concurrent
// requests with one key, across processes too, one runs the handler. While
// it runs, a heartbeat keeps its claim alive; a claim only expires when the
// process holding it died, and only then may another request take it over.
//
// What rests in the table is safe to lose: responses are sealed (they carry
// client secrets and webhook signing secrets), and the request is kept only as
// a keyed hash (HMAC) of its bytes, with any CVC removed before hashing.
import { createHmac, hkdfSync, randomBytes } from "node:crypto";
import { status as GrpcStatus } from "@grpc/grpc-js";
import type { Knex } from "knex";
import type { ErrorDetail } from "../../gen/payments/v1/common";
import { CreatePaymentMethodRequest } from "../../gen/payments/v1/payment_methods";
import { idempotencyApplied, idempotencyInFlight, idempotencyMismatch, invalidParam } from "../errors";
import { isUniqueViolation } from "../db/knex";
import type { MethodInfo } from "../methods";
import type { IdempotencyStore } from "../pipeline/pipeline";
import type { CallContext, CallResult, Caller } from "../pipeline/types";

/** Where the store reports a lost claim (pino-style: fields, then message). */
export interface IdempotencyLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Options of SqlIdempotencyStore. */
export interface IdempotencyOptions {
  /** How long a result is replayed, in seconds (default 24 h, as the API design says). */
  ttlSeconds?: number;
  /**
   * How long a claim lives without a heartbeat, in seconds (default 60). The
   * request holding it renews it every third of that while its handler runs,
   * so it only expires when that process died (or could not reach the
   * database for this long); then the next request with the key may take it
   * over. A handler transaction that commits marks the record `applied`
   * (see `idempotencyApplied` on the call context): a retry after a crash
   * between that commit and storing the result is answered with
   * idempotencyApplied and never runs the handler again. Handlers that write
   * without PendingEvents.flush (no event) do not mark it, so for them that
   * window (commit, then crash before the result is stored) remains.
   */
  inFlightSeconds?: number;
  /** Unix seconds now (tests pin it). */
  now?: () => number;
  /** Encrypts and decrypts every stored response, so no secret rests in the clear here. */
  responseCipher: { seal(bytes: Uint8Array): Uint8Array; open(bytes: Uint8Array): Uint8Array };
  /** The HMAC key of request hashes (see idempotencyRequestKey). */
  requestHashKey: Uint8Array;
  /** Default: console.warn. */
  logger?: IdempotencyLogger;
}

/** Longest accepted Idempotency-Key. */
export const MAX_KEY_LENGTH = 255;

/** The response header that marks a replay. */
export const REPLAYED_HEADER = "idempotent-replayed";

/**
 * The request-hash key, derived from the deployment's secret key (the one
 * sealing webhook secrets, not in the database): a stolen database then does
 * not let anyone test guesses of a request's contents against its hash.
 */
export function idempotencyRequestKey(secretKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync("sha256", secretKey, "payments", "idempotency-request", 32));
}

/**
 * Requests that carry card data, and how to hash them without the CVC: PCI
 * DSS forbids keeping it in any form, hashed included. A retry that differs
 * only in its CVC is then replayed, not refused, which is harmless.
 */
const WITHOUT_CARD_SECRETS: Record<string, (request: Uint8Array) => Uint8Array> = {
  "/payments.v1.PaymentMethodService/CreatePaymentMethod": (request) => {
    const req = CreatePaymentMethodRequest.decode(request);
    if (req.card) req.card = { ...req.card, cvc: undefined };
    return CreatePaymentMethodRequest.encode(req).finish();
  },
};

type Row = Record<string, unknown>;

const consoleLogger: IdempotencyLogger = { warn: (fields, message) => console.warn(message, fields) };

/** The IdempotencyStore of the pipeline, on the `idempotency_keys` table. */
export class SqlIdempotencyStore implements IdempotencyStore {
  private readonly ttl: number;
  private readonly inFlight: number;
  private readonly now: () => number;
  private readonly cipher: IdempotencyOptions["responseCipher"];
  private readonly hashKey: Uint8Array;
  private readonly logger: IdempotencyLogger;

  constructor(
    private readonly db: Knex,
    options: IdempotencyOptions,
  ) {
    this.ttl = options.ttlSeconds ?? 24 * 3600;
    this.inFlight = options.inFlightSeconds ?? 60;
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.cipher = options.responseCipher;
    this.hashKey = options.requestHashKey;
    this.logger = options.logger ?? consoleLogger;
  }

  /** The stored hash of a request: HMAC-SHA256 of its bytes, card secrets removed. */
  requestHash(method: MethodInfo, request: Uint8Array): string {
    const strip = WITHOUT_CARD_SECRETS[method.path];
    return createHmac("sha256", this.hashKey)
      .update(strip ? strip(request) : request)
      .digest("hex");
  }

  async run(
    ctx: CallContext & { caller: Caller; idempotencyKey: string },
    method: MethodInfo,
    request: Uint8Array,
    execute: (hooks: Pick<CallContext, "idempotencyApplied">) => Promise<CallResult>,
  ): Promise<CallResult> {
    const key = ctx.idempotencyKey;
    if (key.length > MAX_KEY_LENGTH) {
      throw invalidParam("idempotency_key", `Idempotency keys can be at most ${MAX_KEY_LENGTH} characters long.`);
    }
    // Publishable and secret keys get separate key spaces: whoever holds the
    // (public) publishable key must not be able to block the merchant's own
    // secret-key requests by using their idempotency keys first.
    const id = { merchant_id: ctx.caller.merchantId, livemode: ctx.caller.livemode, key: `${ctx.caller.keyType === "secret" ? "sk" : "pk"}:${key}` };
    const requestHash = this.requestHash(method, request);
    const claim = randomBytes(12).toString("hex");
    const log = { request_id: ctx.requestId, method: method.path, merchant_id: ctx.caller.merchantId, idempotency_key: key };

    // Claim the key, or find who holds it. Look first (a retry then costs one
    // read), but only the INSERT decides: of racing requests exactly one
    // inserts, the others hit the primary key and look again. A row past its
    // expiry (abandoned claim, or a result older than the replay window) is
    // removed and the claim retried. The removal is guarded on the state and
    // expiry it was seen with, so a claim renewed or marked applied meanwhile
    // is never removed.
    let row: Row | undefined = await this.db("idempotency_keys").where(id).first();
    for (let attempt = 0; ; attempt++) {
      const now = this.now();
      if (row && Number(row.expires) <= now && !(row.state === "applied" && Number(row.created) + this.ttl > now)) {
        await this.db("idempotency_keys")
          .where({ ...id, claim: row.claim, state: row.state })
          .andWhere("expires", "<=", now)
          .delete();
        row = undefined;
      }
      if (row) {
        if (row.method !== method.path || row.request_hash !== requestHash) throw idempotencyMismatch(key);
        // `applied` with a dead claim: the first request's changes committed,
        // then its process died before storing the answer. Running it again
        // could repeat them; the client must look the object up instead.
        if (row.state === "applied" && Number(row.expires) <= now) throw idempotencyApplied(key);
        if (row.state !== "done") throw idempotencyInFlight(key);
        return replay(row, this.cipher);
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

    // The heartbeat: renew the claim while the handler runs.
    let lost = false;
    let beating: Promise<void> = Promise.resolve();
    const beat = async () => {
      try {
        const n = await this.db("idempotency_keys")
          .where({ ...id, claim })
          .whereIn("state", ["in_flight", "applied"])
          .update({ expires: this.now() + this.inFlight });
        if (n === 0 && !lost) {
          lost = true;
          this.logger.warn(log, "idempotency claim lost while its request was running");
        }
      } catch (err) {
        // The next beat tries again; the claim lasts inFlightSeconds.
        this.logger.warn({ ...log, err: String(err) }, "idempotency heartbeat failed");
      }
    };
    const timer = setInterval(() => (beating = beating.then(beat)), Math.max(100, (this.inFlight * 1000) / 3));
    timer.unref?.();
    const stopBeating = async () => {
      clearInterval(timer);
      await beating;
    };

    // Called last in every payment transaction (PendingEvents.flush): the
    // record says `applied` in the same commit as the changes. If the claim
    // is no longer ours, another request runs with this key: roll back.
    const markApplied = async (trx: Knex.Transaction): Promise<void> => {
      const n = await trx("idempotency_keys").where({ ...id, claim }).update({ state: "applied" });
      if (n === 0) throw idempotencyInFlight(key);
    };
    // Lets the next request with the key run afresh, unless changes were applied.
    const release = () => this.db("idempotency_keys").where({ ...id, claim, state: "in_flight" }).delete();

    let result: CallResult;
    try {
      result = await execute({ idempotencyApplied: markApplied });
    } catch (err) {
      await stopBeating();
      await release();
      throw err;
    }
    await stopBeating();
    // "Retry later" (UNAVAILABLE) and "retry" (ABORTED: a concurrent change
    // won) must not be replayed for 24 h: the retry runs afresh. Unless the
    // call already applied changes: then this answer stays (stored below).
    if ((result.code === GrpcStatus.UNAVAILABLE || result.code === GrpcStatus.ABORTED) && (await release()) > 0) {
      return result;
    }
    const now = this.now();
    const stored = await this.db("idempotency_keys")
      .where({ ...id, claim })
      .update({
        state: "done",
        response_code: result.code,
        response_message: result.message,
        response: result.response ? Buffer.from(this.cipher.seal(result.response)) : null,
        status_details: result.statusDetails ? Buffer.from(result.statusDetails) : null,
        error: result.error ? JSON.stringify(result.error) : null,
        headers: JSON.stringify(result.headers),
        expires: now + this.ttl,
      });
    if (stored === 0) {
      // Another request took the key over (this one's claim expired): its
      // answer is the one kept. This one's caller still gets its own.
      this.logger.warn(log, "idempotency claim lost: the result of this request was not stored");
    }
    return result;
  }

  /** Deletes results past their replay window and abandoned claims; returns how many. */
  async prune(): Promise<number> {
    const now = this.now();
    return this.db("idempotency_keys")
      .where("expires", "<=", now)
      // An abandoned `applied` record answers idempotencyApplied for the whole replay window.
      .andWhere((q) => q.whereNot("state", "applied").orWhere("created", "<=", now - this.ttl))
      .delete();
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
    response: stored ? cipher.open(stored) : code === 0 ? new Uint8Array(0) : undefined,
    statusDetails: bytes(row.status_details),
    error: row.error ? (JSON.parse(row.error as string) as ErrorDetail) : undefined,
    headers: { ...(row.headers ? JSON.parse(row.headers as string) : {}), [REPLAYED_HEADER]: "true" },
  };
}
