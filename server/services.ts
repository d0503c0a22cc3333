// Every service's handlers, assembled for the pipeline. A service not listed
// answers UNIMPLEMENTED.
import type { ServiceHandlers } from "./methods";
import type { CoreDeps } from "./deps";
import { chargeHandlers } from "./charges/service";
import { customerHandlers } from "./customers/service";
import { eventHandlers } from "./events/service";
import { paymentIntentHandlers } from "./payment_intents/service";
import { paymentMethodHandlers } from "./payment_methods/service";
import { receiptHandlers } from "./receipts/service";
import { refundHandlers } from "./refunds/service";
import { webhookEndpointHandlers } from "./webhooks/service";

/** The handlers of every built service. */
export function allHandlers(deps: CoreDeps): ServiceHandlers {
  return {
    PaymentIntentService: paymentIntentHandlers(deps),
    PaymentMethodService: paymentMethodHandlers(deps),
    CustomerService: customerHandlers(deps),
    ChargeService: chargeHandlers(deps),
    RefundService: refundHandlers(deps),
    ReceiptService: receiptHandlers(deps),
    EventService: eventHandlers(deps),
    WebhookEndpointService: webhookEndpointHandlers(deps),
  };
}
