import type { FieldError } from '../common/errors/domain-error';
import { Money } from '../common/money/money';
import { Decline } from './decline-codes';

/**
 * The one contract every payment gateway implements. Business outcomes (declined, needs 3DS) are
 * result statuses; failures to get an answer are thrown as the errors in gateway.errors.ts.
 * Every input carries `idempotencyKey` (our attempt id): repeating a call with the same key must
 * never produce a second effect at the gateway.
 */
export interface GatewayCapabilities {
  /** authorise and capture are separate steps (needs `authorise`, `capture` and `cancel`) */
  separateCapture: boolean;
  /** a zero-amount authorisation creates a recurring token (free trial, Scenario 1; needs `tokenise`) */
  zeroAmountAuth: boolean;
  /** a tokenisation path without any payment (free trial, Scenario 2; needs `tokenise`) */
  tokenisation: boolean;
  /** a refund may be less than what was captured (needs `refund`) */
  partialRefund: boolean;
  /** payments may answer `action_required` with a 3DS / redirect to finish (needs `completeAction`) */
  threeDSecure: boolean;
  /** the connector can rebill a stored token / subscription on its own schedule (billing mode 3; needs `rebill`) */
  connectorManagedRebill: boolean;
  /**
   * refunds must name the capture's own id rather than the authorisation's: after a capture the
   * payment's external id changes, and Cleeng's `externalPaymentId` is updated to match
   */
  refundsByCaptureId: boolean;
  /**
   * the gateway runs the subscription's schedule itself (billing mode 2): the first payment answers a widget
   * action, and every billing cycle reaches us as a `billing.*` event to report to Cleeng
   */
  gatewayManagedBilling?: boolean;
}

export interface CardMetadata {
  variant?: string;
  lastCardFourDigits?: string;
  /** MM/YYYY, as Cleeng shows it */
  cardExpirationDate?: string;
  holderName?: string;
}

export type GatewayAction =
  | { type: 'redirect'; url: string; method: 'GET' | 'POST'; params?: Record<string, string> }
  | { type: 'widget' | 'hosted'; url?: string; data?: Record<string, unknown> };

/** Gateway-specific payment method, passed through untouched (raw or encrypted card fields, wallet data). */
export type PaymentMethodData = Record<string, unknown>;

/** How the payment is funded: what the customer entered now, or a token stored earlier. */
export type PaymentSource =
  { kind: 'customer'; paymentMethod: PaymentMethodData } | { kind: 'stored'; token: string };

export interface BrowserInfo {
  [key: string]: unknown;
}

export interface GatewayCustomer {
  /** our stable id for the shopper at the gateway (Adyen shopperReference) */
  reference: string;
  email?: string;
  country?: string;
  ip?: string;
}

export interface BaseInput {
  idempotencyKey: string;
  /** our payment id; the gateway's merchant reference */
  reference: string;
}

export interface AuthoriseInput extends BaseInput {
  amount: Money;
  customer: GatewayCustomer;
  source: PaymentSource;
  /** customer-initiated (on session) or merchant-initiated (recurring, off session) */
  initiator: 'customer' | 'merchant';
  /** ask the gateway for a recurring token */
  storeForRecurring: boolean;
  returnUrl: string;
  browserInfo?: BrowserInfo;
  /** the Cleeng offer the order is for (gateway-managed billing maps its plan from it) */
  offerId?: string;
}

export type TokeniseInput = Omit<AuthoriseInput, 'amount' | 'initiator' | 'storeForRecurring'> & {
  currency: string;
};

export interface CompleteActionInput extends BaseInput {
  /** the redirect / 3DS return payload, e.g. Adyen `{redirectResult}` */
  details: Record<string, unknown>;
  /** state the gateway kept from the first call */
  state?: Record<string, unknown>;
  /** the payment's id at the gateway, when known (a gateway that completes by looking the payment up) */
  externalPaymentId?: string;
}

/** Cancel by our reference; the gateway's payment id too when it is known (a gateway that cancels only by its own id). */
export interface CancelByReferenceInput extends BaseInput {
  externalPaymentId?: string;
}

/** The merchant's go-ahead for a payment the gateway holds until confirmed (Smart Glocal `ready_to_confirm`). */
export interface ConfirmInput extends BaseInput {
  externalPaymentId: string;
}

export interface CaptureInput extends BaseInput {
  externalPaymentId: string;
  amount: Money;
}

export interface CancelInput extends BaseInput {
  externalPaymentId: string;
}

export interface RefundInput extends BaseInput {
  externalPaymentId: string;
  amount: Money;
  reason?: string;
}

export type PaymentResultStatus = 'authorised' | 'captured' | 'rejected' | 'pending' | 'action_required';

export interface PaymentResult {
  status: PaymentResultStatus;
  /**
   * The gateway itself scheduled a retry of this declined charge (Cleverbridge
   * `IsPaymentRetryScheduled`): do not retry on our own schedule.
   */
  retryScheduled?: boolean;
  /** when a customer-action URL stops working (Cleverbridge: 72 h) */
  actionExpiresAt?: Date;
  /** the gateway's id for the payment (Cleeng `externalPaymentId`) */
  externalPaymentId?: string;
  recurringToken?: string;
  /** our connector-managed subscription that this payment's parameters named (first purchase of a subscription) */
  subscriptionReference?: string;
  card?: CardMetadata;
  action?: GatewayAction;
  decline?: Decline;
  /** opaque state to keep for a later call (e.g. completeAction) */
  state?: Record<string, unknown>;
  /** gateway-managed billing: the gateway's subscription that will charge this payment and its renewals */
  externalSubscriptionId?: string;
}

export type ModificationResultStatus = 'received' | 'captured' | 'cancelled' | 'refunded' | 'rejected';

export interface ModificationResult {
  /** `received`: accepted, final outcome arrives by webhook (Adyen) */
  status: ModificationResultStatus;
  /** the gateway's id for this modification (Adyen capture/refund pspReference) */
  externalId?: string;
  decline?: Decline;
}

/** A merchant-of-record cart line (Cleverbridge ProcessCart). */
export interface CartItem {
  productId: string;
  quantity: number;
  additionalName?: string;
  dynamicName?: string;
  /** overrides the catalogue price */
  dynamicPrice?: Money;
  extraParameters?: Record<string, string>;
}

/** Who buys: exactly one way of identifying a known Cleverbridge customer. */
export type CartCustomer =
  { logonPurchaseId: string } | { customerReferenceId: string } | { subscriptionId: string };

export interface ProcessCartInput extends BaseInput {
  customer: CartCustomer;
  items: CartItem[];
  /** interactive: the gateway may answer with a URL for the customer; non-interactive: never */
  mode: 'interactive' | 'non-interactive';
  extraParameters?: Record<string, string>;
  extraParameterMode?: 'Default' | 'PurchaseOnly' | 'SubscriptionOnly';
  defaultCountryId?: string;
  defaultLanguageId?: string;
}

/** One period of a connector-managed subscription (billing mode 3). */
export interface RebillInput extends BaseInput {
  amount: Money;
  customer: GatewayCustomer;
  /** the gateway's subscription id (Cleverbridge: always sent, or it creates a new subscription) */
  externalSubscriptionId?: string;
  /** a stored recurring token (card gateways: merchant-initiated charge) */
  token?: string;
  productId?: string;
  quantity?: number;
  extraParameters?: Record<string, string>;
  /** the subscription's language at the gateway (Cleverbridge `defaultLanguageId`); else the gateway's default */
  defaultLanguageId?: string;
  periodStart: Date;
}

/** What a gateway notification means, in our words. */
export type GatewayEventType =
  | 'payment.authorised'
  | 'payment.refused'
  /** one-step payments (merchant of record): the money was taken */
  | 'payment.paid'
  | 'capture.succeeded'
  | 'capture.failed'
  | 'cancel.succeeded'
  | 'cancel.failed'
  | 'refund.succeeded'
  | 'refund.failed'
  | 'chargeback'
  | 'token.created'
  /**
   * the gateway holds the payment until the merchant confirms it (`amount` is what it will take): the
   * connector confirms when the amount is its own, and cancels otherwise
   */
  | 'payment.confirmation_requested'
  /** the payment waits for the shopper (3DS / redirect), announced by notification rather than in the answer */
  | 'payment.action_required'
  /** gateway-managed billing (mode 2): one billing cycle's charge succeeded / failed at the gateway */
  | 'billing.succeeded'
  | 'billing.failed'
  /** gateway-managed billing: the gateway's subscription changed status (`subscriptionStatus`) */
  | 'subscription.updated'
  /** authentic, understood, and of no interest to the connector */
  | 'ignored';

export interface GatewayEvent {
  /** natural key: a redelivery of the same notification has the same key */
  eventKey: string;
  type: GatewayEventType;
  /** the gateway's own name for it, e.g. Adyen `CAPTURE_FAILED` */
  rawType: string;
  /** our reference echoed by the gateway (payment id for payments, refund id for refunds) */
  reference?: string;
  /** the payment's id at the gateway */
  externalPaymentId?: string;
  /** the modification's id at the gateway (capture, refund) */
  externalModificationId?: string;
  externalSubscriptionId?: string;
  amount?: { value: number; currency: string };
  token?: string;
  card?: CardMetadata;
  decline?: Decline;
  reason?: string;
  occurredAt?: string;
  /** our id of the payment (attempt, purchase) the event is about, also on refunds where `reference` is unset */
  paymentReference?: string;
  /** our idempotency key of the call that caused it (`<attempt id>:<try>` or an attempt id), when echoed */
  attemptKey?: string;
  /** our connector-managed subscription id, when the gateway echoed it (first purchase of a subscription) */
  subscriptionReference?: string;
  /** the caller's own parameters the gateway echoed (stored with a purchase), without the connector's */
  extraParameters?: Record<string, string>;
  /** refunds: less than the whole payment */
  partial?: boolean;
  /** `payment.action_required`: where the shopper must go */
  action?: GatewayAction;
  /** gateway-managed billing: the gateway's id of the billing cycle a `billing.*` event is about */
  billingCycleId?: string;
  /** `subscription.updated`: the gateway subscription's status, normalised */
  subscriptionStatus?: GatewaySubscriptionStatus;
}

/** A gateway-managed subscription's status in our words. */
export type GatewaySubscriptionStatus = 'pending' | 'active' | 'paused' | 'cancelled' | 'ended';

/** What a connector-managed subscription asks of its gateway, as given to `POST /v1/subscriptions`. */
export interface SubscriptionTerms {
  externalSubscriptionId?: string;
  productId?: string;
  /** a stored recurring token is available (card gateways rebill with it) */
  hasStoredToken: boolean;
  extraParameters?: Record<string, string>;
}

/** The operations that send money movements a gateway may lack an idempotency key for. */
export type UnkeyedOperation = 'authorise' | 'charge' | 'rebill' | 'processCart';

/** A call whose answer was lost, to look up at a gateway that has no idempotency key (Cleverbridge ProcessCart). */
export interface CallLookupInput {
  /** the idempotency key the call carried (Cleverbridge: the `x-connector-attempt` x-parameter) */
  idempotencyKey: string;
  /** the gateway's payment id, when an earlier answer named one (an offline payment being waited for) */
  externalPaymentId?: string;
  /** the call was made after this (bounds the search window) */
  sentAfter: Date;
}

/**
 * `found`: what the call made, as it stands now; `not_found`: the gateway certainly holds no payment from it.
 * A lookup that could not be made throws the usual gateway errors (the outcome stays unknown).
 */
export type CallLookupResult = { kind: 'found'; result: PaymentResult } | { kind: 'not_found' };

export type ReturnDetails = { details: Record<string, unknown> } | { errors: FieldError[] };

export type WebhookHeaders = Record<string, string | string[] | undefined>;

/**
 * Every operation but the id and capabilities is optional: a gateway implements what it supports, and
 * the registry refuses at boot a gateway whose capabilities claim an operation it lacks (or the reverse).
 * Callers reach optional operations through `requireOperation` (gateway-operations.ts).
 */
export interface GatewayProvider {
  /** its definition's id (gateways.ts) */
  readonly id: string;
  readonly capabilities: GatewayCapabilities;
  /**
   * Operations the gateway cannot deduplicate (no idempotency key, e.g. Cleverbridge ProcessCart): once such a
   * call may have reached the gateway it is never sent again until `lookupCall` (or a notification) says
   * whether it charged. Every operation not named here repeats safely under the same key.
   */
  readonly unkeyedOperations?: readonly UnkeyedOperation[];
  /** what an unkeyed call whose answer was lost did (required when `unkeyedOperations` is not empty) */
  lookupCall?(input: CallLookupInput): Promise<CallLookupResult>;
  authorise?(input: AuthoriseInput): Promise<PaymentResult>;
  /** authorise + capture in one step */
  charge?(input: AuthoriseInput): Promise<PaymentResult>;
  capture?(input: CaptureInput): Promise<ModificationResult>;
  cancel?(input: CancelInput): Promise<ModificationResult>;
  refund?(input: RefundInput): Promise<ModificationResult>;
  /** obtain a recurring token without charging (zero-amount auth or the gateway's tokenisation) */
  tokenise?(input: TokeniseInput): Promise<PaymentResult>;
  completeAction?(input: CompleteActionInput): Promise<PaymentResult>;
  /**
   * The return payload from what the shopper's browser brought back to `GET /v1/payments/:id/return`
   * (query string and form body), or field errors when it lacks what the gateway needs.
   */
  returnDetails?(request: { query: Record<string, unknown>; body: unknown }): ReturnDetails;
  /** cancel whatever the gateway did under our reference, when its payment id is unknown (timeouts) */
  cancelByReference?(input: CancelByReferenceInput): Promise<ModificationResult>;
  /** the merchant's go-ahead after `payment.confirmation_requested` (declined by `cancel`) */
  confirm?(input: ConfirmInput): Promise<ModificationResult>;
  /** charge one period of a connector-managed subscription (capability connectorManagedRebill) */
  rebill?(input: RebillInput): Promise<PaymentResult>;
  /** merchant-of-record one-off or in-app purchase (Cleverbridge ProcessCart) */
  processCart?(input: ProcessCartInput): Promise<PaymentResult>;
  /** the gateway's own rules for a purchase (e.g. x-parameter keys), checked before anything is stored */
  validatePurchase?(input: ProcessCartInput): FieldError[];
  /** the gateway's own rules for a connector-managed subscription, checked before it is stored */
  validateSubscription?(input: SubscriptionTerms): FieldError[];
  /** verifies the signature on the raw body first, then returns normalised events */
  parseWebhook?(headers: WebhookHeaders, rawBody: Buffer): GatewayEvent[];
}
