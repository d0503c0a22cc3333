// The `Payments-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
// "<t>.<body>">`, one `v1=` per secret that currently signs (two during a
// secret roll). Receivers check it with the API design's verify_webhook_signature.
import { createHmac } from "node:crypto";

/** The hex HMAC-SHA256 of `<timestamp>.<body>` keyed by `secret`. */
export function signPayload(secret: string, timestamp: number, body: string): string {
  return createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
}

/** The header value for `body` signed at `timestamp` by every secret in `secrets`. */
export function signatureHeader(secrets: readonly string[], timestamp: number, body: string): string {
  return [`t=${timestamp}`, ...secrets.map((s) => `v1=${signPayload(s, timestamp, body)}`)].join(",");
}
