// Money rules: currencies (ISO 4217, lowercase), their minor units, the
// amount range, and the metadata limits. Pure; the services call these before
// touching the database.
import { invalidParam, missingParam } from "../errors";

/** Active ISO 4217 currency codes, lowercase. */
export const CURRENCIES: ReadonlySet<string> = new Set(
  (
    "aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd btn bwp byn bzd " +
    "cad cdf chf clp cny cop crc cup cve czk djf dkk dop dzd egp ern etb eur fjd fkp gbp gel ghs gip gmd gnf " +
    "gtq gyd hkd hnl htg huf idr ils inr iqd irr isk jmd jod jpy kes kgs khr kmf kpw krw kwd kyd kzt lak lbp " +
    "lkr lrd lsl lyd mad mdl mga mkd mmk mnt mop mru mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab " +
    "pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sdg sek sgd shp sle sos srd ssp stn svc syp szl " +
    "thb tjs tmt tnd top try ttd twd tzs uah ugx usd uyu uzs ves vnd vuv wst xaf xcd xof xpf yer zar zmw zwl"
  ).split(" "),
);

/** Currencies whose amounts are whole units (no minor unit): 500 jpy is ¥500. */
export const ZERO_DECIMAL: ReadonlySet<string> = new Set(
  "bif clp djf gnf isk jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split(" "),
);

/** Currencies with three decimals (1000 bhd minor units = 1.000 BHD). */
export const THREE_DECIMAL: ReadonlySet<string> = new Set("bhd iqd jod kwd lyd omr tnd".split(" "));

/** The largest amount accepted, in minor units (see common.proto). */
export const MAX_AMOUNT = 99_999_999;

/** Number of decimals of a currency's minor unit. */
export function minorUnitDigits(currency: string): number {
  return ZERO_DECIMAL.has(currency) ? 0 : THREE_DECIMAL.has(currency) ? 3 : 2;
}

/** Checks and returns a currency code; `param` names the field in errors. */
export function parseCurrency(value: string | undefined, param = "currency"): string {
  if (value === undefined || value === "") throw missingParam(param);
  if (!CURRENCIES.has(value)) {
    throw invalidParam(param, `Invalid currency: ${value}. Use a three-letter ISO 4217 code in lowercase, e.g. usd.`);
  }
  return value;
}

/** Checks an amount in minor units: an integer from 1 to MAX_AMOUNT. */
export function parseAmount(value: number | undefined, param = "amount", required = true): number | undefined {
  if (value === undefined) {
    if (required) throw missingParam(param);
    return undefined;
  }
  if (!Number.isInteger(value) || value < 1) throw invalidParam(param, `Invalid ${param}: must be a positive integer in the currency's minor unit.`);
  if (value > MAX_AMOUNT) throw invalidParam(param, `Invalid ${param}: must be at most ${MAX_AMOUNT}.`);
  return value;
}

/** An amount in minor units as a person reads it: `$20.00`, `¥500`, `12.500 BHD`. */
export function formatAmount(amount: number, currency: string): string {
  const digits = minorUnitDigits(currency);
  try {
    return new Intl.NumberFormat("en-US", {
      style: "currency",
      currency: currency.toUpperCase(),
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(amount / 10 ** digits);
  } catch {
    return `${(amount / 10 ** digits).toFixed(digits)} ${currency.toUpperCase()}`;
  }
}

/** Metadata limits of the API design. */
export const METADATA_LIMITS = { keys: 50, keyLength: 40, valueLength: 500 } as const;

/**
 * Checks metadata for create (`allowEmptyValues` false) or merges an update
 * into `current` (a "" value removes the key). Returns the resulting map.
 */
export function applyMetadata(
  input: Record<string, string> | undefined,
  current: Record<string, string> = {},
  param = "metadata",
): Record<string, string> {
  const out: Record<string, string> = { ...current };
  for (const [key, value] of Object.entries(input ?? {})) {
    if (key.length === 0 || key.length > METADATA_LIMITS.keyLength) {
      throw invalidParam(`${param}[${key.slice(0, 40)}]`, `Metadata keys must be 1 to ${METADATA_LIMITS.keyLength} characters long.`);
    }
    if (value.length > METADATA_LIMITS.valueLength) {
      throw invalidParam(`${param}[${key}]`, `Metadata values can have up to ${METADATA_LIMITS.valueLength} characters.`);
    }
    if (value === "") delete out[key];
    else out[key] = value;
  }
  if (Object.keys(out).length > METADATA_LIMITS.keys) {
    throw invalidParam(param, `Metadata can have up to ${METADATA_LIMITS.keys} keys.`);
  }
  return out;
}
