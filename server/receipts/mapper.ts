// A charge → its receipt page: small, self-contained HTML, every value escaped.
import type { ChargePaymentMethod } from "../../gen/payments/v1/charges";
import { bool } from "../db/knex";
import { fromJson } from "../db/resources";
import { formatAmount } from "../domain/money";
import type { ChargeRow } from "../charges/mapper";

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** HTML-escapes text for element content and quoted attributes. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const BRAND_NAMES: Record<string, string> = {
  visa: "Visa",
  mastercard: "Mastercard",
  amex: "American Express",
  discover: "Discover",
  diners: "Diners Club",
  jcb: "JCB",
  unionpay: "UnionPay",
};

/** The receipt page of a charge, as UTF-8 HTML. */
export function receiptHtml(charge: ChargeRow, merchantName: string): string {
  const pm = fromJson<ChargePaymentMethod | undefined>(charge.payment_method, undefined);
  const brand = pm?.card ? (BRAND_NAMES[pm.card.brand] ?? pm.card.brand) : "Card";
  const last4 = pm?.card?.last4 ?? "";
  const date = new Date(Number(charge.created) * 1000).toISOString().slice(0, 10);
  // A manual-capture charge not captured yet is only authorized, and one whose
  // intent was canceled had its hold released: say so rather than "paid".
  const captured = bool(charge.captured);
  const released = !captured && bool(charge.refunded);
  const paid = captured ? Number(charge.amount_captured) : Number(charge.amount);
  // amount_refunded also counts the hold a partial capture released (never
  // paid, so never refunded): the receipt shows refunds of what was paid.
  const refunded = captured ? Number(charge.amount_refunded) - (Number(charge.amount) - paid) : 0;
  const verb = captured ? "paid" : released ? "authorized, then released" : "authorized";
  const rows: Array<[string, string]> = [
    [captured ? "Amount paid" : "Amount authorized", formatAmount(paid, charge.currency)],
    ["Date", date],
    ["Payment method", `${brand} •••• ${last4}`],
    ["Receipt", charge.id],
  ];
  if (released) rows.push(["Authorization released", formatAmount(Number(charge.amount_refunded), charge.currency)]);
  if (refunded > 0) rows.push(["Refunded", formatAmount(refunded, charge.currency)]);
  if (charge.description) rows.push(["Description", charge.description]);
  const e = escapeHtml;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Receipt from ${e(merchantName)}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f6f8fa;color:#1a1f36;margin:0;padding:2rem}
main{max-width:28rem;margin:0 auto;background:#fff;border-radius:8px;padding:2rem;box-shadow:0 1px 3px rgba(0,0,0,.1)}
h1{font-size:1.25rem;margin:0 0 .25rem}p{color:#697386;margin:0 0 1.5rem}
table{width:100%;border-collapse:collapse}td{padding:.5rem 0;border-top:1px solid #e3e8ee}td:last-child{text-align:right}
</style>
</head>
<body>
<main>
<h1>Receipt from ${e(merchantName)}</h1>
<p>${e(formatAmount(paid, charge.currency))} ${verb} on ${e(date)}</p>
<table>
${rows.map(([k, v]) => `<tr><td>${e(k)}</td><td>${e(v)}</td></tr>`).join("\n")}
</table>
</main>
</body>
</html>
`;
}
