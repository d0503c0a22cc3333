// The TypeScript SDK of the Payment Service.
//
//   const payments = new PaymentsSDK("sk_test_...", { apiBase: "http://localhost:8080" });
//   const pi = await payments.paymentIntents.create({ amount: 2000, currency: "usd" });
//   for await (const charge of payments.charges.list({ limit: 100 })) { ... }
//
// The spec's browser-style calls (createPaymentMethod, createPaymentIntent,
// handleCardAction) are on the same class.
import type { Customer } from "../../gen/payments/v1/customers";
import type { ConfirmPaymentIntentRequest, CreatePaymentIntentRequest, PaymentIntent } from "../../gen/payments/v1/payment_intents";
import type { CreatePaymentMethodRequest, PaymentMethod } from "../../gen/payments/v1/payment_methods";
import { HttpClient, type ClientOptions, type RequestOptions } from "./http";
import { Charges, Customers, Events, PaymentIntents, PaymentMethods, Refunds, WebhookEndpoints, type Params } from "./resources";
import { webhooks } from "./webhooks";

export * from "./errors";
export { DEFAULT_API_BASE, type ClientOptions, type RequestOptions } from "./http";
export type { ListPromise, Page } from "./list";
export * from "./resources";
export { constructEvent, generateTestHeader, SIGNATURE_HEADER, webhooks } from "./webhooks";
export type { Charge } from "../../gen/payments/v1/charges";
export type { ErrorDetail } from "../../gen/payments/v1/common";
export type { Event } from "../../gen/payments/v1/events";
export type { Refund } from "../../gen/payments/v1/refunds";
export type { WebhookDelivery, WebhookEndpoint } from "../../gen/payments/v1/webhook_endpoints";
export type { Customer, PaymentIntent, PaymentMethod };

/** The id of a payment intent from its client secret (`pi_..._secret_...`). */
export function paymentIntentIdOf(clientSecret: string): string {
  const at = clientSecret.indexOf("_secret_");
  if (!clientSecret.startsWith("pi_") || at < 0) throw new TypeError("Expected a payment intent client secret (pi_..._secret_...).");
  return clientSecret.slice(0, at);
}

/** A client of the Payment Service's REST API, with one API key. */
export class PaymentsSDK {
  /** Webhook signature verification (`constructEvent`). */
  static readonly webhooks = webhooks;
  readonly webhooks = webhooks;

  readonly paymentIntents: PaymentIntents;
  readonly paymentMethods: PaymentMethods;
  readonly customers: Customers;
  readonly refunds: Refunds;
  readonly charges: Charges;
  readonly events: Events;
  readonly webhookEndpoints: WebhookEndpoints;
  protected readonly http: HttpClient;

  constructor(apiKey: string, options: ClientOptions = {}) {
    this.http = new HttpClient(apiKey, options);
    this.paymentIntents = new PaymentIntents(this.http);
    this.paymentMethods = new PaymentMethods(this.http);
    this.customers = new Customers(this.http);
    this.refunds = new Refunds(this.http);
    this.charges = new Charges(this.http);
    this.events = new Events(this.http);
    this.webhookEndpoints = new WebhookEndpoints(this.http);
  }

  /** Creates a payment method from card details (allowed with a publishable key). */
  createPaymentMethod(params: Params<CreatePaymentMethodRequest, "type">, options?: RequestOptions): Promise<PaymentMethod> {
    return this.paymentMethods.create(params, options);
  }

  /** Creates a payment intent; with `confirm: true` and `payment_method`, confirms it at once. */
  createPaymentIntent(params: Params<CreatePaymentIntentRequest, "amount" | "currency">, options?: RequestOptions): Promise<PaymentIntent> {
    return this.paymentIntents.create(params, options);
  }

  /** Retrieves a payment intent by its client secret (works with a publishable key). */
  retrievePaymentIntent(clientSecret: string): Promise<PaymentIntent> {
    return this.paymentIntents.retrieve(paymentIntentIdOf(clientSecret), { client_secret: clientSecret });
  }

  /** Confirms a payment intent by its client secret (works with a publishable key). */
  confirmPaymentIntent(clientSecret: string, params: Params<ConfirmPaymentIntentRequest> = {}, options?: RequestOptions): Promise<{ paymentIntent: PaymentIntent }> {
    return this.paymentIntents
      .confirm(paymentIntentIdOf(clientSecret), { ...params, client_secret: clientSecret }, options)
      .then((paymentIntent) => ({ paymentIntent }));
  }

  /**
   * Completes the next action of a payment intent in `requires_action`
   * (3-D Secure). In test mode the customer's authentication is simulated
   * by POST /v1/payment_intents/{id}/authenticate, which succeeds unless
   * `outcome: "fail"` is given. Resolves with the updated intent.
   */
  async handleCardAction(clientSecret: string, options: { outcome?: "succeed" | "fail" } = {}): Promise<{ paymentIntent: PaymentIntent }> {
    const id = paymentIntentIdOf(clientSecret);
    const paymentIntent = await this.paymentIntents.authenticate(id, { client_secret: clientSecret, outcome: options.outcome });
    return { paymentIntent };
  }
}

/** The same client under a server-side name: `new Payments("sk_test_...")`. */
export const Payments = PaymentsSDK;
export default PaymentsSDK;
