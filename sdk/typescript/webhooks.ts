// Webhook signature verification: the API design's algorithm. The header is
// `Payments-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`;
// during a secret roll it carries one `v1=` per active secret. Verify on the
// raw body exactly as received: parsing and re-printing JSON changes bytes.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Event } from "../../gen/payments/v1/events";
import { SignatureVerificationError } from "./errors";

/** The header our webhook deliveries carry. */
export const SIGNATURE_HEADER = "Payments-Signature";

/** Default tolerance between the signature's timestamp and now, in seconds. */
export const DEFAULT_TOLERANCE = 300;

function fail(message: string): never {
  throw new SignatureVerificationError(message, { type: "signature_verification_error", statusCode: 400 });
}

/** Hex HMAC-SHA256 of `<timestamp>.<payload>` keyed by `secret` (what the service puts after `v1=`). */
export function computeSignature(payload: string, timestamp: number, secret: string): string {
  return createHmac("sha256", secret).update(`${timestamp}.${payload}`, "utf8").digest("hex");
}

/** A `Payments-Signature` header value for `payload`, e.g. for tests of your own endpoint. */
export function generateTestHeader(payload: string, secret: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${computeSignature(payload, timestamp, secret)}`;
}

/**
 * Verifies a webhook's `Payments-Signature` header against the raw body and
 * returns the event; throws SignatureVerificationError if the header is
 * missing or malformed, older (or newer) than `tolerance` seconds, or no
 * signature matches. `tolerance` must be a positive number of seconds:
 * there is no way to turn the replay check off.
 */
export function constructEvent(rawBody: string | Uint8Array, signatureHeader: string | string[] | undefined, secret: string, tolerance = DEFAULT_TOLERANCE): Event {
  // A tolerance of 0 (or less) must not mean "no replay protection" (stripe-node's pitfall):
  // it is a programming error, thrown as such, not a bad signature.
  if (typeof tolerance !== "number" || !Number.isFinite(tolerance) || tolerance <= 0) {
    throw new RangeError(`tolerance must be a positive number of seconds (default ${DEFAULT_TOLERANCE}), got ${String(tolerance)}.`);
  }
  const payload = typeof rawBody === "string" ? rawBody : Buffer.from(rawBody).toString("utf8");
  const header = Array.isArray(signatureHeader) ? signatureHeader[0] : signatureHeader;
  if (!header) fail(`No ${SIGNATURE_HEADER} header.`);
  if (!secret) fail("No webhook signing secret given.");

  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const element of header.split(",")) {
    const eq = element.indexOf("=");
    if (eq < 0) fail(`Malformed ${SIGNATURE_HEADER} header.`);
    const key = element.slice(0, eq).trim();
    const value = element.slice(eq + 1).trim();
    if (key === "t") timestamp = /^\d+$/.test(value) ? Number(value) : NaN;
    else if (key.startsWith("v")) signatures.push(value);
  }
  if (!timestamp || signatures.length === 0) fail(`${SIGNATURE_HEADER} header has no timestamp or no signature.`);

  const now = Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > tolerance) fail(`Timestamp outside the tolerance of ${tolerance} s (replayed or stale webhook).`);

  const expected = Buffer.from(computeSignature(payload, timestamp, secret), "utf8");
  const match = signatures.some((s) => {
    const given = Buffer.from(s, "utf8");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!match) fail("No signature matches the expected signature for the payload.");
  return JSON.parse(payload) as Event;
}

/** `payments.webhooks`: verification helpers. */
export const webhooks = { constructEvent, generateTestHeader, computeSignature, SIGNATURE_HEADER, DEFAULT_TOLERANCE };
