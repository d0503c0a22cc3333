// Webhook signing secrets at rest. A signing secret must be usable to sign
// every delivery, so unlike API keys it cannot be stored as a one-way hash.
// It is stored encrypted with AES-256-GCM under a key that is not in the
// database: WEBHOOK_SECRET_KEY (32 bytes as 64 hex digits or base64). A stolen
// database alone then does not let anyone forge webhooks. Without
// WEBHOOK_SECRET_KEY (development) the key is derived from the deployment's
// fingerprint secret with HKDF; production deployments should set it.
// Secrets never appear in logs: only the create and roll responses carry them,
// and the idempotency store keeps those responses sealed with the same key.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { randomToken } from "../domain/ids";

const VERSION = "v1";

/** The 32-byte encryption key: WEBHOOK_SECRET_KEY, or derived from `fallbackSecret`. */
export function webhookSecretKey(env: NodeJS.ProcessEnv, fallbackSecret: string): Buffer {
  const raw = env.WEBHOOK_SECRET_KEY;
  if (raw) {
    const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, "hex") : Buffer.from(raw, "base64");
    if (key.length !== 32) throw new Error("WEBHOOK_SECRET_KEY must be 32 bytes: 64 hex digits or base64");
    return key;
  }
  return Buffer.from(hkdfSync("sha256", fallbackSecret, "payments", "webhook-secret-key", 32));
}

/** A new signing secret, `whsec_` and 32 base62 characters. */
export function newSigningSecret(): string {
  return `whsec_${randomToken(32)}`;
}

/** Encrypts bytes with AES-256-GCM: `iv (12) | tag (16) | ciphertext`. */
export function sealBytes(key: Buffer, data: Uint8Array): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const body = Buffer.concat([cipher.update(data), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/** Decrypts what sealBytes wrote; throws if it was tampered with or the key is wrong. */
export function openBytes(key: Buffer, sealed: Uint8Array): Buffer {
  const raw = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
}

/** Encrypts a secret for storage: `v1:<base64 iv|tag|ciphertext>`. */
export function encryptSecret(key: Buffer, secret: string): string {
  return `${VERSION}:${sealBytes(key, Buffer.from(secret, "utf8")).toString("base64")}`;
}

/** Decrypts a stored secret; throws if it was tampered with or the key is wrong. */
export function decryptSecret(key: Buffer, stored: string): string {
  const [version, payload] = stored.split(":", 2);
  if (version !== VERSION || !payload) throw new Error("unknown webhook secret format");
  return openBytes(key, Buffer.from(payload, "base64")).toString("utf8");
}
