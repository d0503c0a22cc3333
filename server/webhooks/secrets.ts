// Webhook signing secrets at rest. A signing secret must be usable to sign
// every delivery, so unlike API keys it cannot be stored as a one-way hash.
// It is stored encrypted with AES-256-GCM under a key that is not in the
// database: WEBHOOK_SECRET_KEY (32 bytes as 64 hex digits or base64). A stolen
// database alone then does not let anyone forge webhooks. Without
// WEBHOOK_SECRET_KEY (development) the key is derived from the deployment's
// fingerprint secret with HKDF; production deployments should set it.
// Secrets never appear in logs: only the create and roll responses carry them.
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

/** Encrypts a secret for storage: `v1:<base64 iv|tag|ciphertext>`. */
export function encryptSecret(key: Buffer, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const body = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
  return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")}`;
}

/** Decrypts a stored secret; throws if it was tampered with or the key is wrong. */
export function decryptSecret(key: Buffer, stored: string): string {
  const [version, payload] = stored.split(":", 2);
  if (version !== VERSION || !payload) throw new Error("unknown webhook secret format");
  const raw = Buffer.from(payload, "base64");
  const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
}
