// ChargeService: read and list. Charges are made by the payment intent flow.
import { ChargeServiceService } from "../../gen/payments/v1/charges";
import type { CoreDeps } from "../deps";
import { pageRows, scopeOf } from "../db/resources";
import { parsePage } from "../domain/pagination";
import { missingParam } from "../errors";
import type { Handlers } from "../methods";
import { toCharge, type ChargeRow } from "./mapper";
import { loadCharge } from "./store";

/** The ChargeService handlers. */
export function chargeHandlers(deps: CoreDeps): Handlers<typeof ChargeServiceService> {
  const base = deps.settings.publicBaseUrl;
  return {
    async getCharge(ctx, req) {
      if (!req.id) throw missingParam("id");
      return { charge: toCharge(await loadCharge(deps.db, scopeOf(ctx), req.id), base) };
    },

    async listCharges(ctx, req) {
      const page = parsePage(req);
      const { rows, hasMore } = await pageRows<ChargeRow>(deps.db, "charges", "charge", scopeOf(ctx), page, (q) => {
        if (req.payment_intent) q.where({ payment_intent: req.payment_intent });
        if (req.customer) q.where({ customer: req.customer });
      });
      return { object: "list", data: rows.map((r) => toCharge(r, base)), has_more: hasMore, url: "/v1/charges" };
    },
  };
}
