// The processor interface: what the payment flow needs from a card network
// connector. The test-card simulator implements it; a real connector can
// replace it without touching the services.
import type { TestBehavior } from "../domain/cards";

/** The stored, non-sensitive card a processor works from (never the number). */
export interface ProcessorCard {
  paymentMethodId: string;
  brand: string;
  last4: string;
  /** Test mode only: the simulator's instruction derived at creation. */
  testBehavior?: TestBehavior;
}

/** One authorization attempt. */
export interface AuthorizeRequest {
  merchantId: string;
  paymentIntentId: string;
  amount: number;
  currency: string;
  card: ProcessorCard;
  /** Whether the customer has just completed 3-D Secure for this attempt. */
  authenticated: boolean;
}

/** A decline, in the API's card_error terms. */
export interface Decline {
  code: string;
  declineCode?: string;
  message: string;
}

/** What an authorization attempt came to. */
export type AuthorizeResult =
  | { outcome: "authorized"; /** The cardholder will dispute it (simulator). */ disputed?: boolean }
  | { outcome: "requires_action" }
  | { outcome: "declined"; decline: Decline };

/** A card processor. */
export interface Processor {
  authorize(req: AuthorizeRequest): Promise<AuthorizeResult>;
  /** Captures `amount` of an authorized charge; the network releases the rest of the hold. */
  capture(req: { chargeId: string; amount: number; currency: string }): Promise<{ ok: true } | { ok: false; decline: Decline }>;
  /**
   * Releases (voids) the uncaptured `amount` of an authorized charge, so the
   * cardholder's funds are no longer held (cancel of a `requires_capture` intent).
   */
  cancel(req: { chargeId: string; amount: number; currency: string }): Promise<{ ok: true } | { ok: false; message: string }>;
  /** Returns `amount` of a captured charge. */
  refund(req: { chargeId: string; refundId: string; amount: number; currency: string }): Promise<{ ok: true } | { ok: false; message: string }>;
}

/** The processors of a deployment, by mode. Live has none unless a connector is configured. */
export interface Processors {
  test: Processor;
  live?: Processor;
}
