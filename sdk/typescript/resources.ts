// The resource API for server-side code with a secret key: one class per
// REST resource, one method per route. Parameters and results are the
// generated contract types (gen/, whose field names are the JSON names).
import type { Charge, ListChargesRequest } from "../../gen/payments/v1/charges";
import type { CreateCustomerRequest, Customer, DeleteCustomerResponse, ListCustomersRequest, UpdateCustomerRequest } from "../../gen/payments/v1/customers";
import type { Event, ListEventsRequest, StreamEventsRequest } from "../../gen/payments/v1/events";
import type {
  AuthenticatePaymentIntentRequest,
  CancelPaymentIntentRequest,
  CapturePaymentIntentRequest,
  ConfirmPaymentIntentRequest,
  CreatePaymentIntentRequest,
  GetPaymentIntentRequest,
  ListPaymentIntentsRequest,
  PaymentIntent,
  UpdatePaymentIntentRequest,
} from "../../gen/payments/v1/payment_intents";
import type { AttachPaymentMethodRequest, CreatePaymentMethodRequest, ListPaymentMethodsRequest, PaymentMethod } from "../../gen/payments/v1/payment_methods";
import type { CreateRefundRequest, ListRefundsRequest, Refund } from "../../gen/payments/v1/refunds";
import type {
  CreateWebhookEndpointRequest,
  DeleteWebhookEndpointResponse,
  ListWebhookDeliveriesRequest,
  ListWebhookEndpointsRequest,
  RollWebhookEndpointSecretRequest,
  UpdateWebhookEndpointRequest,
  WebhookDelivery,
  WebhookEndpoint,
} from "../../gen/payments/v1/webhook_endpoints";
import type { HttpClient, RequestOptions } from "./http";
import { listPromise, type ListPromise, type Page } from "./list";

/** Request params: a contract request without its path `id`, every field optional except `R`. */
export type Params<T, R extends keyof T = never> = Partial<Omit<T, "id" | R>> & Pick<T, R>;

type Query = Record<string, unknown>;
const enc = encodeURIComponent;

abstract class Resource {
  constructor(protected readonly http: HttpClient) {}

  protected get<T>(path: string, query?: object, options?: RequestOptions): Promise<T> {
    return this.http.request<T>({ method: "GET", path, query: query as Query, options });
  }

  protected post<T>(path: string, body?: object, options?: RequestOptions): Promise<T> {
    return this.http.request<T>({ method: "POST", path, body: (body ?? {}) as Query, options });
  }

  protected remove<T>(path: string, options?: RequestOptions): Promise<T> {
    return this.http.request<T>({ method: "DELETE", path, options });
  }

  protected listPages<T extends { id: string }>(path: string, params: object = {}, options?: RequestOptions): ListPromise<T> {
    return listPromise<T>((p) => this.get<Page<T>>(path, p, options), params as Query);
  }
}

/** /v1/payment_intents */
export class PaymentIntents extends Resource {
  create(params: Params<CreatePaymentIntentRequest, "amount" | "currency">, options?: RequestOptions): Promise<PaymentIntent> {
    return this.post("/v1/payment_intents", params, options);
  }
  retrieve(id: string, params: Params<GetPaymentIntentRequest> = {}, options?: RequestOptions): Promise<PaymentIntent> {
    return this.get(`/v1/payment_intents/${enc(id)}`, params, options);
  }
  update(id: string, params: Params<UpdatePaymentIntentRequest>, options?: RequestOptions): Promise<PaymentIntent> {
    return this.post(`/v1/payment_intents/${enc(id)}`, params, options);
  }
  confirm(id: string, params: Params<ConfirmPaymentIntentRequest> = {}, options?: RequestOptions): Promise<PaymentIntent> {
    return this.post(`/v1/payment_intents/${enc(id)}/confirm`, params, options);
  }
  capture(id: string, params: Params<CapturePaymentIntentRequest> = {}, options?: RequestOptions): Promise<PaymentIntent> {
    return this.post(`/v1/payment_intents/${enc(id)}/capture`, params, options);
  }
  cancel(id: string, params: Params<CancelPaymentIntentRequest> = {}, options?: RequestOptions): Promise<PaymentIntent> {
    return this.post(`/v1/payment_intents/${enc(id)}/cancel`, params, options);
  }
  /** Test mode only: completes (or fails, with `outcome: "fail"`) the 3-D Secure step. */
  authenticate(id: string, params: Params<AuthenticatePaymentIntentRequest> = {}, options?: RequestOptions): Promise<PaymentIntent> {
    return this.post(`/v1/payment_intents/${enc(id)}/authenticate`, params, options);
  }
  list(params: Params<ListPaymentIntentsRequest> = {}, options?: RequestOptions): ListPromise<PaymentIntent> {
    return this.listPages("/v1/payment_intents", params, options);
  }
}

/** /v1/payment_methods */
export class PaymentMethods extends Resource {
  create(params: Params<CreatePaymentMethodRequest, "type">, options?: RequestOptions): Promise<PaymentMethod> {
    return this.post("/v1/payment_methods", params, options);
  }
  retrieve(id: string, options?: RequestOptions): Promise<PaymentMethod> {
    return this.get(`/v1/payment_methods/${enc(id)}`, undefined, options);
  }
  list(params: Params<ListPaymentMethodsRequest, "customer">, options?: RequestOptions): ListPromise<PaymentMethod> {
    return this.listPages("/v1/payment_methods", params, options);
  }
  attach(id: string, params: Params<AttachPaymentMethodRequest, "customer">, options?: RequestOptions): Promise<PaymentMethod> {
    return this.post(`/v1/payment_methods/${enc(id)}/attach`, params, options);
  }
  detach(id: string, options?: RequestOptions): Promise<PaymentMethod> {
    return this.post(`/v1/payment_methods/${enc(id)}/detach`, {}, options);
  }
}

/** /v1/customers */
export class Customers extends Resource {
  create(params: Params<CreateCustomerRequest> = {}, options?: RequestOptions): Promise<Customer> {
    return this.post("/v1/customers", params, options);
  }
  retrieve(id: string, options?: RequestOptions): Promise<Customer> {
    return this.get(`/v1/customers/${enc(id)}`, undefined, options);
  }
  update(id: string, params: Params<UpdateCustomerRequest>, options?: RequestOptions): Promise<Customer> {
    return this.post(`/v1/customers/${enc(id)}`, params, options);
  }
  del(id: string, options?: RequestOptions): Promise<DeleteCustomerResponse> {
    return this.remove(`/v1/customers/${enc(id)}`, options);
  }
  list(params: Params<ListCustomersRequest> = {}, options?: RequestOptions): ListPromise<Customer> {
    return this.listPages("/v1/customers", params, options);
  }
}

/** /v1/refunds */
export class Refunds extends Resource {
  create(params: Params<CreateRefundRequest>, options?: RequestOptions): Promise<Refund> {
    return this.post("/v1/refunds", params, options);
  }
  retrieve(id: string, options?: RequestOptions): Promise<Refund> {
    return this.get(`/v1/refunds/${enc(id)}`, undefined, options);
  }
  list(params: Params<ListRefundsRequest> = {}, options?: RequestOptions): ListPromise<Refund> {
    return this.listPages("/v1/refunds", params, options);
  }
}

/** /v1/charges (read-only: charges are made by confirming payment intents). */
export class Charges extends Resource {
  retrieve(id: string, options?: RequestOptions): Promise<Charge> {
    return this.get(`/v1/charges/${enc(id)}`, undefined, options);
  }
  list(params: Params<ListChargesRequest> = {}, options?: RequestOptions): ListPromise<Charge> {
    return this.listPages("/v1/charges", params, options);
  }
}

/** /v1/events */
export class Events extends Resource {
  retrieve(id: string, options?: RequestOptions): Promise<Event> {
    return this.get(`/v1/events/${enc(id)}`, undefined, options);
  }
  list(params: Params<ListEventsRequest> = {}, options?: RequestOptions): ListPromise<Event> {
    return this.listPages("/v1/events", params, options);
  }
  /**
   * The merchant's events as they are committed, oldest first (Server-Sent
   * Events). With `starting_after`, replays every later event first: resume
   * a dropped stream with the last id seen. Stops when `signal` aborts.
   */
  stream(params: Params<StreamEventsRequest> = {}, options: { signal?: AbortSignal } = {}): AsyncGenerator<Event> {
    return this.http.stream<Event>("/v1/events/stream", params as Query, options.signal);
  }
}

/** /v1/webhook_endpoints */
export class WebhookEndpoints extends Resource {
  create(params: Params<CreateWebhookEndpointRequest, "url" | "enabled_events">, options?: RequestOptions): Promise<WebhookEndpoint> {
    return this.post("/v1/webhook_endpoints", params, options);
  }
  retrieve(id: string, options?: RequestOptions): Promise<WebhookEndpoint> {
    return this.get(`/v1/webhook_endpoints/${enc(id)}`, undefined, options);
  }
  update(id: string, params: Params<UpdateWebhookEndpointRequest>, options?: RequestOptions): Promise<WebhookEndpoint> {
    return this.post(`/v1/webhook_endpoints/${enc(id)}`, params, options);
  }
  del(id: string, options?: RequestOptions): Promise<DeleteWebhookEndpointResponse> {
    return this.remove(`/v1/webhook_endpoints/${enc(id)}`, options);
  }
  list(params: Params<ListWebhookEndpointsRequest> = {}, options?: RequestOptions): ListPromise<WebhookEndpoint> {
    return this.listPages("/v1/webhook_endpoints", params, options);
  }
  /** Replaces the signing secret; the old one keeps signing for `expires_in_seconds`. */
  rollSecret(id: string, params: Params<RollWebhookEndpointSecretRequest> = {}, options?: RequestOptions): Promise<WebhookEndpoint> {
    return this.post(`/v1/webhook_endpoints/${enc(id)}/roll_secret`, params, options);
  }
  /** The deliveries of an endpoint, each with its attempts. */
  listDeliveries(id: string, params: Omit<Params<ListWebhookDeliveriesRequest>, "webhook_endpoint" | "event"> = {}, options?: RequestOptions): ListPromise<WebhookDelivery> {
    return this.listPages(`/v1/webhook_endpoints/${enc(id)}/deliveries`, params, options);
  }
}
