// ReceiptService: the public page behind a charge's receipt_url. No API key:
// the unguessable charge id is the capability, so only successful charges
// render and everything else is a plain 404.
import { ReceiptServiceService } from "../../gen/payments/v1/receipts";
import type { CoreDeps } from "../deps";
import { missingParam, resourceMissing } from "../errors";
import type { Handlers } from "../methods";
import type { CallContext } from "../pipeline/types";
import { receiptHtml } from "./mapper";
import { loadReceipt } from "./store";

/** The ReceiptService handlers. */
export function receiptHandlers(deps: CoreDeps): Handlers<typeof ReceiptServiceService, CallContext> {
  return {
    async getReceipt(_ctx, req) {
      if (!req.charge_id) throw missingParam("charge_id");
      const charge = await loadReceipt(deps.db, req.charge_id);
      if (!charge || charge.status !== "succeeded") throw resourceMissing("charge", req.charge_id, "charge_id");
      const html = receiptHtml(charge, charge.merchant_name ?? "the merchant");
      return { page: { content_type: "text/html; charset=utf-8", data: Buffer.from(html, "utf8"), extensions: [] } };
    },
  };
}
