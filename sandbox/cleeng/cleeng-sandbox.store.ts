import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '../clock/clock';
import { InvalidMoneyError, Money } from '../shared/money';
import { SANDBOX_SETTINGS, SandboxSettings } from '../sandbox-settings';
import { CleengWebhookSubscriptions } from './cleeng-webhook-subscriptions';
import {
  addDays,
  addPeriod,
  applyPercentOff,
  BillingPeriod,
  findCoupon,
  findOffer,
  offerPrice,
  SandboxOffer,
} from './cleeng-sandbox.offers';
import {
  CleengSandboxEvent,
  CreateOrderInput,
  CreatePaymentDetailsInput,
  CreatePaymentInput,
  fail,
  NextPaymentAction,
  OrderDiscount,
  OrderRecord,
  Outcome,
  PAYMENT_TRANSITIONS,
  PaymentDetailsRecord,
  PaymentRecord,
  RequestLogEntry,
  SUBSCRIPTION_TRANSITIONS,
  SubscriptionRecord,
  SubscriptionStatus,
  succeed,
  TerminationType,
  UpdatePaymentInput,
  UpdateSubscriptionInput,
} from './cleeng-sandbox.types';
import {
  CleengResponse,
  refundedTotal,
  toWireOrder,
  toWirePayment,
  toWirePaymentDetails,
  toWireSubscription,
  WireOrder,
  WirePayment,
  WirePaymentDetails,
  WireSubscription,
} from './cleeng-sandbox.wire';

const ORDER_LIFETIME_DAYS = 1;

const FIRST_IDS = {
  order: 100_000_001,
  payment: 200_000_001,
  paymentDetails: 300_000_001,
  subscription: 400_000_001,
} as const;

/**
 * The emulator keeps no state across restarts, but the connector's database does: ids start from
 * the clock (100k ids per millisecond of headroom) so a restarted sandbox never reissues an id.
 */
function processUniqueIds(): {
  order: number;
  payment: number;
  paymentDetails: number;
  subscription: number;
} {
  const base = Date.now() * 100;
  return { order: base + 1, payment: base + 1, paymentDetails: base + 1, subscription: base + 1 };
}

/** Cleeng's dunning settings, reduced to what decides which webhook a renewal fires and when. */
export interface DunningSettings {
  /**
   * true: each attempt sends subscriptionReadyForPaymentAuthorisation, and once the connector reports the
   * authorised payment, subscriptionReadyForPaymentCapture with its paymentId; false: capture-only.
   */
  authoriseFirst: boolean;
  /** Retries after the due date, in hours after it, strictly increasing (the first attempt is at the due date). */
  paymentAttempts: number[];
  /** Termination after the last failed attempt waits at least until due date + this many hours. */
  gracePeriodHours: number;
}

export const DEFAULT_DUNNING: Readonly<DunningSettings> = Object.freeze({
  authoriseFirst: false,
  paymentAttempts: [24, 72, 168],
  gracePeriodHours: 0,
});

export type DunningInput = Pick<DunningSettings, 'authoriseFirst'> & Partial<DunningSettings>;

/** One renewal webhook the emulator fired for a period (attempt 0 at the due date, then the retries). */
export interface RenewalAttempt {
  index: number;
  /** due date + the attempt's offset: Cleeng's `dunningAttemptDate` */
  scheduledAt: Date;
  /** sandbox time at which the webhook was queued */
  firedAt: Date;
  topic: 'subscriptionReadyForPaymentAuthorisation' | 'subscriptionReadyForPaymentCapture';
  /** authorise-first: the authorised payment a subscriptionReadyForPaymentCapture was sent for */
  captureFiredFor?: number;
}

/** The dunning progress of one subscription for the period that ends at `dueAt`. */
export interface RenewalState {
  subscriptionId: number;
  dueAt: Date;
  attempts: RenewalAttempt[];
  terminationFiredAt?: Date;
}

export interface CleengSandboxState {
  orders: WireOrder[];
  payments: WirePayment[];
  paymentDetails: WirePaymentDetails[];
  subscriptions: WireSubscription[];
}

interface StoredResponse {
  fingerprint: string;
  response: CleengResponse;
}

export type IdempotentResult =
  | { kind: 'fresh'; response: CleengResponse }
  | { kind: 'replayed'; response: CleengResponse }
  | { kind: 'conflict' };

/** The externally managed variant of `POST /3.1/payments`, as parsed. */
export interface SubscriptionListFilter {
  customerId?: number;
  offerId?: string;
  paymentMethodId?: number;
  statuses?: SubscriptionRecord['status'][];
  matchNone?: boolean;
  offset: number;
  limit: number;
}

export interface ExternalPaymentInput {
  customerId: number;
  status: 'captured' | 'rejected';
  offerId: string;
  paymentMethodId: number;
  amount: Money;
  externalPaymentId: string;
  country?: string;
  rejectedReason?: string;
  subscriptionId?: number;
}

/** Gateways whose Cleeng payment method is set up as externally managed (they own the billing schedule). */
const EXTERNALLY_MANAGED_GATEWAYS: readonly string[] = ['smartpay'];

/**
 * All state of the Cleeng emulator, in memory. Every method is synchronous, so a check-then-write
 * sequence can never interleave with another request.
 *
 * Seams for the renewal/webhook work: time comes from the shared Clock (the sandbox test clock),
 * `subscriptionsDue(asOf)` finds renewals, `dunning` says whether to authorise first, and state
 * changes Cleeng would announce itself go to `onEvent` listeners.
 */
@Injectable()
export class CleengSandboxStore {
  private orders = new Map<number, OrderRecord>();
  private payments = new Map<number, PaymentRecord>();
  private paymentDetails = new Map<number, PaymentDetailsRecord>();
  private subscriptions = new Map<number, SubscriptionRecord>();
  // lookups the API makes on every call, indexed (scanning every payment per call made a bench run quadratic)
  private paymentsByOrder = new Map<number, PaymentRecord[]>();
  private paymentsBySubscription = new Map<number, PaymentRecord[]>();
  private detailsByCustomer = new Map<number, PaymentDetailsRecord[]>();
  /** `customerId:offerId` of every subscription ever created (subscriptions are never deleted) */
  private subscribedOffers = new Set<string>();
  /** webhook settings (`/3.1/webhook_subscriptions`) */
  readonly webhookSubscriptions = new CleengWebhookSubscriptions();
  private nextIds: { order: number; payment: number; paymentDetails: number; subscription: number } =
    processUniqueIds();
  private idempotency = new Map<string, StoredResponse>();
  private requestLog: RequestLogEntry[] = [];
  private dunning: DunningSettings = copyDunning(DEFAULT_DUNNING);
  private renewals = new Map<number, RenewalState>();
  private readonly listeners = new Set<(event: CleengSandboxEvent) => void>();
  private readonly paymentListeners = new Set<(payment: PaymentRecord) => void>();
  private readonly logger = new Logger(CleengSandboxStore.name);
  private readonly gatewayByPaymentMethodId: ReadonlyMap<number, string>;

  constructor(
    @Inject(SANDBOX_SETTINGS) config: SandboxSettings,
    private readonly clock: Clock,
  ) {
    this.gatewayByPaymentMethodId = new Map(
      [...config.cleeng.paymentMethods].map(([gateway, paymentMethodId]) => [paymentMethodId, gateway]),
    );
  }

  now(): Date {
    return this.clock.now();
  }

  // ---- orders ----

  createOrder(input: CreateOrderInput): Outcome<OrderRecord> {
    const offer = findOffer(input.offerId);
    if (!offer) {
      return fail(404, `Offer with id ${input.offerId} not found`);
    }
    if (input.currency !== offer.currency) {
      return fail(422, `currency: offer ${offer.id} is sold in ${offer.currency}, not ${input.currency}`);
    }
    const unknownMethod = this.checkPaymentMethod(input.paymentMethodId);
    if (unknownMethod) {
      return unknownMethod;
    }
    if (input.recurring) {
      const subscription = this.subscriptions.get(input.recurring.subscriptionId);
      if (!subscription) {
        return fail(404, `Subscription with id ${input.recurring.subscriptionId} does not exists`);
      }
      if (subscription.customerId !== input.customerId || subscription.offerId !== offer.id) {
        return fail(
          422,
          `subscriptionId: subscription ${subscription.subscriptionId} belongs to another customer or offer`,
        );
      }
      if (subscription.status !== 'active') {
        return fail(
          422,
          `subscriptionId: subscription ${subscription.subscriptionId} is ${subscription.status}`,
        );
      }
    }
    const price = this.priceOrder(offer, input);
    if (!price.ok) {
      return price;
    }
    const now = this.now();
    const order: OrderRecord = {
      id: this.nextIds.order++,
      customerId: input.customerId,
      offerId: offer.id,
      currency: offer.currency,
      country: input.country,
      paymentMethodId: input.paymentMethodId,
      offerPrice: price.value.offerPrice,
      total: price.value.total,
      ...(price.value.discount ? { discount: price.value.discount } : {}),
      ...(input.recurring ? input.recurring : {}),
      createdAt: now,
      expiresAt: addDays(now, ORDER_LIFETIME_DAYS),
    };
    this.orders.set(order.id, order);
    return succeed(order);
  }

  /**
   * Renewals pay the offer price. A first purchase of a trial offer costs 0 unless the customer
   * already had that offer (one trial per customer and offer). A coupon then takes its share off.
   */
  private priceOrder(
    offer: SandboxOffer,
    input: CreateOrderInput,
  ): Outcome<{ offerPrice: Money; total: Money; discount?: OrderDiscount }> {
    const fullPrice = offerPrice(offer);
    const trialDays = input.recurring ? undefined : offer.freeTrialDays;
    if (trialDays !== undefined && !this.hadSubscription(input.customerId, offer.id)) {
      return succeed({
        offerPrice: fullPrice,
        total: Money.zero(offer.currency),
        discount: { type: 'trial', trialDays },
      });
    }
    if (input.couponCode === undefined) {
      return succeed({ offerPrice: fullPrice, total: fullPrice });
    }
    const coupon = findCoupon(input.couponCode);
    if (!coupon) {
      return fail(422, `couponCode: coupon ${input.couponCode} is not valid for offer ${offer.id}`);
    }
    return succeed({
      offerPrice: fullPrice,
      total: applyPercentOff(fullPrice, coupon.percentOff),
      discount: { type: 'coupon', couponCode: coupon.code, percentOff: coupon.percentOff },
    });
  }

  private hadSubscription(customerId: number, offerId: string): boolean {
    return this.subscribedOffers.has(`${customerId}:${offerId}`);
  }

  private checkPaymentMethod(paymentMethodId: number): Outcome<never> | undefined {
    if (!this.gatewayByPaymentMethodId.has(paymentMethodId)) {
      return fail(
        422,
        `paymentMethodId: ${paymentMethodId} is not a configured payment method ` +
          `(known: ${[...this.gatewayByPaymentMethodId.keys()].join(', ')})`,
      );
    }
    return undefined;
  }

  // ---- payments ----

  createPayment(input: CreatePaymentInput): Outcome<PaymentRecord> {
    const order = this.orders.get(input.orderId);
    if (!order) {
      return fail(404, `Order with id ${input.orderId} not found`);
    }
    const now = this.now();
    if (now.getTime() > order.expiresAt.getTime()) {
      return fail(422, `orderId: order ${order.id} expired at ${order.expiresAt.toISOString()}`);
    }
    const recurringOrder = order.paymentOperation === 'recurring-payment';
    if (recurringOrder !== (input.paymentOperation === 'recurring-payment')) {
      return fail(
        422,
        `paymentOperation: ${input.paymentOperation} does not match order ${order.id}` +
          (recurringOrder ? ', which is a recurring order' : ', which is not a recurring order'),
      );
    }
    if (input.paymentOperation === 'initial-free-transaction' && !order.total.isZero()) {
      return fail(
        422,
        `paymentOperation: initial-free-transaction is only allowed for orders with totalPrice 0 ` +
          `(order ${order.id} costs ${order.total.toMajorString()} ${order.currency})`,
      );
    }
    if (
      input.subscriptionId !== undefined &&
      order.subscriptionId !== undefined &&
      input.subscriptionId !== order.subscriptionId
    ) {
      return fail(422, `subscriptionId: order ${order.id} is for subscription ${order.subscriptionId}`);
    }
    if (recurringOrder) {
      const renewal = this.checkRenewable(order.subscriptionId);
      if (renewal) {
        return renewal;
      }
    }
    if (input.paymentDetailsId !== undefined) {
      const linked = this.checkOwnDetails(input.paymentDetailsId, order.customerId);
      if (linked) {
        return linked;
      }
    }
    if (input.status === 'captured' || input.status === 'authorized') {
      const settled = this.checkNotSettled(order.id, undefined);
      if (settled) {
        return settled;
      }
    }

    // Checks are done; from here on the call has effects.
    let paymentDetailsId = input.paymentDetailsId ?? null;
    // A declined or cancelled card is not kept as the customer's recurring token.
    if (input.paymentDetails && (input.status === 'captured' || input.status === 'authorized')) {
      paymentDetailsId = this.storePaymentDetails({
        customerId: order.customerId,
        token: input.paymentDetails.token,
        paymentMethodId: order.paymentMethodId,
        paymentMethodSpecificParams: input.paymentDetails.paymentMethodSpecificParams,
        active: true,
      }).id;
    }
    const payment: PaymentRecord = {
      id: this.nextIds.payment++,
      orderId: order.id,
      customerId: order.customerId,
      offerId: order.offerId,
      paymentMethodId: order.paymentMethodId,
      country: order.country,
      amount: order.total,
      status: input.status,
      paymentOperation: input.paymentOperation,
      externalPaymentId: input.externalPaymentId ?? null,
      paymentDetailsId,
      rejectedReason: input.rejectedReason ?? null,
      refundedReason: null,
      refundType: null,
      refunds: [],
      subscriptionId: order.subscriptionId ?? input.subscriptionId ?? null,
      createdAt: now,
      updatedAt: now,
    };
    this.addPayment(payment);
    if (payment.status === 'captured') {
      this.onCaptured(payment, order);
    }
    this.paymentChanged(payment);
    return succeed(payment);
  }

  /**
   * Externally managed payment (`POST /3.1/payments` EMS variant): a charge made outside Cleeng (a gateway's
   * or the connector's own schedule), reported without an order. Seed 000: the externalPaymentId "will
   * guarantee payment and subscription creation at Cleeng" — a captured payment without `subscriptionId`
   * creates an externally managed subscription (no renewal events: its schedule runs elsewhere); with one, it
   * renews that subscription, which must exist and be the customer's for the offer. The answer is Cleeng's
   * PaymentResource, which does not name the subscription (find it with `GET /subscriptions`). Nothing is
   * deduplicated: the same externalPaymentId twice is two payments, as Cleeng documents no such check.
   */
  createExternalPayment(input: ExternalPaymentInput): Outcome<PaymentRecord> {
    const offer = findOffer(input.offerId);
    if (!offer) {
      return fail(404, `Offer with id ${input.offerId} not found`);
    }
    if (input.amount.currency !== offer.currency) {
      return fail(
        422,
        `currency: offer ${offer.id} is sold in ${offer.currency}, not ${input.amount.currency}`,
      );
    }
    const unknownMethod = this.checkPaymentMethod(input.paymentMethodId);
    if (unknownMethod) {
      return unknownMethod;
    }
    const subscription =
      input.subscriptionId === undefined ? undefined : this.subscriptions.get(input.subscriptionId);
    if (input.subscriptionId !== undefined) {
      if (!subscription) {
        return fail(404, `Subscription with id ${input.subscriptionId} does not exists`);
      }
      if (subscription.customerId !== input.customerId || subscription.offerId !== offer.id) {
        return fail(
          422,
          `subscriptionId: subscription ${subscription.subscriptionId} belongs to another customer or offer`,
        );
      }
    }
    const now = this.now();
    const payment: PaymentRecord = {
      id: this.nextIds.payment++,
      orderId: 0,
      customerId: input.customerId,
      offerId: offer.id,
      paymentMethodId: input.paymentMethodId,
      country: input.country ?? '',
      amount: input.amount,
      status: input.status,
      paymentOperation: subscription ? 'recurring-payment' : 'initial-payment',
      externalPaymentId: input.externalPaymentId,
      paymentDetailsId: null,
      rejectedReason: input.rejectedReason ?? null,
      refundedReason: null,
      refundType: null,
      refunds: [],
      subscriptionId: subscription?.subscriptionId ?? null,
      createdAt: now,
      updatedAt: now,
    };
    this.addPayment(payment);
    if (input.status !== 'captured') {
      return succeed(payment);
    }
    if (subscription) {
      // money taken after a termination does not bring the subscription back
      if (subscription.status !== 'terminated') {
        subscription.expiresAt = addPeriod(subscription.expiresAt, offer.period);
        subscription.completedCycles += 1;
        subscription.latestPaymentExternalId = payment.externalPaymentId;
        subscription.updatedAt = now;
      }
      return succeed(payment);
    }
    const created: SubscriptionRecord = {
      subscriptionId: this.nextIds.subscription++,
      customerId: input.customerId,
      offerId: offer.id,
      status: 'active',
      paymentDetailsId: null,
      paymentMethodId: input.paymentMethodId,
      paymentCountry: input.country ?? '',
      inTrial: false,
      couponCode: null,
      dateFrom: now,
      expiresAt: addPeriod(now, offer.period),
      nextPaymentAction: this.nextPaymentAction(),
      completedCycles: 0,
      latestPaymentExternalId: payment.externalPaymentId,
      externalProperties: {},
      terminationType: null,
      externallyManaged: true,
      createdAt: now,
      updatedAt: now,
    };
    this.addSubscription(created);
    this.linkPayment(payment, created.subscriptionId);
    return succeed(payment);
  }

  /**
   * `GET /3.1/subscriptions`: filters customerId, offerId (only with customerId), paymentMethodId, status;
   * offset / limit (1..100, default 100 here). Newest first.
   */
  listSubscriptions(filter: SubscriptionListFilter): Outcome<SubscriptionRecord[]> {
    const all = [...this.subscriptions.values()]
      .filter(() => filter.matchNone !== true)
      .filter((s) => filter.customerId === undefined || s.customerId === filter.customerId)
      .filter((s) => filter.offerId === undefined || s.offerId === filter.offerId)
      .filter((s) => filter.paymentMethodId === undefined || s.paymentMethodId === filter.paymentMethodId)
      .filter((s) => filter.statuses === undefined || filter.statuses.includes(s.status))
      .sort((a, b) => b.subscriptionId - a.subscriptionId);
    return succeed(all.slice(filter.offset, filter.offset + filter.limit));
  }

  updatePayment(paymentId: number, input: UpdatePaymentInput): Outcome<PaymentRecord> {
    const payment = this.payments.get(paymentId);
    if (!payment) {
      return fail(404, `Payment with id ${paymentId} not found`);
    }
    if (input.orderId !== undefined && input.orderId !== payment.orderId) {
      return fail(
        422,
        payment.orderId === 0
          ? `orderId: payment ${payment.id} is externally managed and has no order`
          : `orderId: payment ${payment.id} belongs to order ${payment.orderId}`,
      );
    }
    if (input.paymentOperation !== undefined && input.paymentOperation !== payment.paymentOperation) {
      return fail(422, `paymentOperation: payment ${payment.id} is a ${payment.paymentOperation}`);
    }
    const illegal = this.checkTransition(payment, input.status);
    if (illegal) {
      return illegal;
    }
    if (input.status === 'refunded' && payment.orderId !== 0 && input.orderId === undefined) {
      return fail(400, 'orderId: is required when status is refunded');
    }
    const now = this.now();
    switch (input.status) {
      case 'captured': {
        const settled = this.checkNotSettled(payment.orderId, payment.id);
        if (settled) {
          return settled;
        }
        const order = this.orders.get(payment.orderId);
        if (!order) {
          return fail(404, `Order with id ${payment.orderId} not found`);
        }
        payment.status = 'captured';
        payment.externalPaymentId = input.externalPaymentId ?? payment.externalPaymentId;
        payment.updatedAt = now;
        this.onCaptured(payment, order);
        this.paymentChanged(payment);
        return succeed(payment);
      }
      case 'rejected':
        payment.status = 'rejected';
        payment.rejectedReason = input.rejectedReason;
        payment.externalPaymentId = input.externalPaymentId ?? payment.externalPaymentId;
        payment.updatedAt = now;
        this.paymentChanged(payment);
        return succeed(payment);
      case 'refunded': {
        const refundable = payment.amount.subtract(refundedTotal(payment));
        if (refundable.isZero()) {
          return fail(422, `Payment with id ${payment.id} has nothing left to refund`);
        }
        let amount: Money;
        try {
          amount =
            input.refundedAmount === undefined
              ? refundable
              : Money.fromMajor(input.refundedAmount, payment.amount.currency);
        } catch (error) {
          if (error instanceof InvalidMoneyError) {
            return fail(400, `refundedAmount: ${error.message}`);
          }
          throw error;
        }
        if (amount.greaterThan(refundable)) {
          return fail(
            422,
            `refundedAmount: ${amount.toMajorString()} exceeds the refundable ` +
              `${refundable.toMajorString()} ${refundable.currency} of payment ${payment.id}`,
          );
        }
        payment.refunds.push({ amount, reason: input.refundedReason, type: input.refundType, at: now });
        payment.status = 'refunded';
        payment.refundedReason = input.refundedReason;
        payment.refundType = input.refundType;
        payment.externalPaymentId = input.externalPaymentId ?? payment.externalPaymentId;
        payment.updatedAt = now;
        this.paymentChanged(payment);
        return succeed(payment);
      }
    }
  }

  cancelPayment(paymentId: number): Outcome<PaymentRecord> {
    const payment = this.payments.get(paymentId);
    if (!payment) {
      return fail(404, `Payment with id ${paymentId} not found`);
    }
    const illegal = this.checkTransition(payment, 'cancelled');
    if (illegal) {
      return illegal;
    }
    payment.status = 'cancelled';
    payment.updatedAt = this.now();
    this.paymentChanged(payment);
    return succeed(payment);
  }

  private checkTransition(payment: PaymentRecord, to: PaymentRecord['status']): Outcome<never> | undefined {
    if (!PAYMENT_TRANSITIONS[payment.status].includes(to)) {
      return fail(422, `status: payment ${payment.id} cannot go from ${payment.status} to ${to}`);
    }
    return undefined;
  }

  /** One order is paid at most once: no second capture, no second pending authorisation. */
  private checkNotSettled(orderId: number, exceptPaymentId: number | undefined): Outcome<never> | undefined {
    for (const other of this.paymentsByOrder.get(orderId) ?? []) {
      if (other.id === exceptPaymentId) {
        continue;
      }
      if (other.status === 'captured' || other.status === 'refunded') {
        return fail(422, `orderId: order ${orderId} is already paid by payment ${other.id}`);
      }
      if (other.status === 'authorized') {
        return fail(422, `orderId: order ${orderId} already has authorized payment ${other.id}`);
      }
    }
    return undefined;
  }

  private checkRenewable(subscriptionId: number | undefined): Outcome<never> | undefined {
    const subscription = subscriptionId === undefined ? undefined : this.subscriptions.get(subscriptionId);
    if (!subscription) {
      return fail(404, `Subscription with id ${subscriptionId ?? '?'} does not exists`);
    }
    if (subscription.status !== 'active') {
      return fail(
        422,
        `subscriptionId: subscription ${subscription.subscriptionId} is ${subscription.status}`,
      );
    }
    return undefined;
  }

  private checkOwnDetails(paymentDetailsId: number, customerId: number): Outcome<never> | undefined {
    const details = this.paymentDetails.get(paymentDetailsId);
    if (!details) {
      return fail(404, `Payment details with id ${paymentDetailsId} not found`);
    }
    if (details.customerId !== customerId) {
      return fail(422, `paymentDetailsId: payment details ${paymentDetailsId} belong to another customer`);
    }
    return undefined;
  }

  /** A captured initial payment starts the subscription; a captured renewal extends it by one period. */
  private onCaptured(payment: PaymentRecord, order: OrderRecord): void {
    const offer = findOffer(order.offerId);
    if (!offer) {
      return;
    }
    const now = this.now();
    if (payment.paymentOperation === 'recurring-payment') {
      const subscription =
        payment.subscriptionId === null ? undefined : this.subscriptions.get(payment.subscriptionId);
      // Money taken after a termination does not bring the subscription back.
      if (!subscription || subscription.status === 'terminated') {
        return;
      }
      subscription.expiresAt = addPeriod(subscription.expiresAt, offer.period);
      subscription.completedCycles += 1;
      subscription.inTrial = false;
      subscription.latestPaymentExternalId = payment.externalPaymentId;
      subscription.paymentDetailsId = payment.paymentDetailsId ?? subscription.paymentDetailsId;
      subscription.updatedAt = now;
      return;
    }
    const trialDays = order.discount?.type === 'trial' ? order.discount.trialDays : undefined;
    const subscription: SubscriptionRecord = {
      subscriptionId: this.nextIds.subscription++,
      customerId: order.customerId,
      offerId: order.offerId,
      status: 'active',
      paymentDetailsId: payment.paymentDetailsId ?? this.activeDetailsOf(order.customerId)?.id ?? null,
      paymentMethodId: order.paymentMethodId,
      paymentCountry: order.country,
      inTrial: trialDays !== undefined,
      couponCode: order.discount?.type === 'coupon' ? order.discount.couponCode : null,
      dateFrom: now,
      expiresAt: trialDays !== undefined ? addDays(now, trialDays) : addPeriod(now, offer.period),
      nextPaymentAction: this.nextPaymentAction(),
      completedCycles: 0,
      latestPaymentExternalId: payment.externalPaymentId,
      externalProperties: {},
      terminationType: null,
      externallyManaged: false,
      createdAt: now,
      updatedAt: now,
    };
    this.addSubscription(subscription);
    this.linkPayment(payment, subscription.subscriptionId);
  }

  private nextPaymentAction(): NextPaymentAction {
    return this.dunning.authoriseFirst ? 'authorise' : 'capture';
  }

  // ---- payment details ----

  createPaymentDetails(input: CreatePaymentDetailsInput): Outcome<PaymentDetailsRecord> {
    const unknownMethod = this.checkPaymentMethod(input.paymentMethodId);
    if (unknownMethod) {
      return unknownMethod;
    }
    return succeed(this.storePaymentDetails(input));
  }

  /**
   * A customer has one active set of payment details: new active ones replace the old, their
   * subscriptions move over, and Cleeng announces `paymentDetailsDeactivated` for each old set.
   */
  private storePaymentDetails(input: CreatePaymentDetailsInput): PaymentDetailsRecord {
    const details: PaymentDetailsRecord = {
      id: this.nextIds.paymentDetails++,
      customerId: input.customerId,
      token: input.token,
      paymentMethodId: input.paymentMethodId,
      paymentMethodSpecificParams: { ...input.paymentMethodSpecificParams },
      active: input.active,
      createdAt: this.now(),
    };
    const deactivated: PaymentDetailsRecord[] = [];
    if (details.active) {
      for (const old of this.detailsByCustomer.get(details.customerId) ?? []) {
        if (old.active) {
          old.active = false;
          deactivated.push(old);
        }
      }
      if (deactivated.length > 0) {
        for (const subscription of this.subscriptions.values()) {
          if (deactivated.some((old) => old.id === subscription.paymentDetailsId)) {
            subscription.paymentDetailsId = details.id;
          }
        }
      }
    }
    this.paymentDetails.set(details.id, details);
    appendTo(this.detailsByCustomer, details.customerId, details);
    for (const old of deactivated) {
      this.emit({
        type: 'paymentDetailsDeactivated',
        paymentDetailsId: old.id,
        customerId: old.customerId,
        paymentMethodId: old.paymentMethodId,
      });
    }
    return details;
  }

  private activeDetailsOf(customerId: number): PaymentDetailsRecord | undefined {
    return (this.detailsByCustomer.get(customerId) ?? []).find((d) => d.active);
  }

  authorisedPayments(paymentDetailsId: number): Outcome<PaymentRecord[]> {
    if (!this.paymentDetails.has(paymentDetailsId)) {
      return fail(404, `Payment details with id ${paymentDetailsId} not found`);
    }
    return succeed(
      [...this.payments.values()].filter(
        (p) => p.paymentDetailsId === paymentDetailsId && p.status === 'authorized',
      ),
    );
  }

  /**
   * Cleeng deactivating payment details on its own account (operator action, expired card): they stop being
   * used for renewals and `paymentDetailsDeactivated` is announced. Subscriptions keep the reference.
   */
  deactivatePaymentDetails(paymentDetailsId: number): Outcome<PaymentDetailsRecord> {
    const details = this.paymentDetails.get(paymentDetailsId);
    if (!details) {
      return fail(404, `Payment details with id ${paymentDetailsId} not found`);
    }
    if (!details.active) {
      return fail(422, `Payment details with id ${paymentDetailsId} are already inactive`);
    }
    details.active = false;
    this.emit({
      type: 'paymentDetailsDeactivated',
      paymentDetailsId: details.id,
      customerId: details.customerId,
      paymentMethodId: details.paymentMethodId,
    });
    return succeed(details);
  }

  deletePaymentDetails(paymentDetailsId: number): Outcome<PaymentDetailsRecord> {
    const details = this.paymentDetails.get(paymentDetailsId);
    if (!details) {
      return fail(404, `Payment details with id ${paymentDetailsId} not found`);
    }
    this.paymentDetails.delete(paymentDetailsId);
    const ofCustomer = this.detailsByCustomer.get(details.customerId) ?? [];
    this.detailsByCustomer.set(
      details.customerId,
      ofCustomer.filter((d) => d !== details),
    );
    for (const subscription of this.subscriptions.values()) {
      if (subscription.paymentDetailsId === paymentDetailsId) {
        subscription.paymentDetailsId = null;
      }
    }
    return succeed(details);
  }

  // ---- subscriptions ----

  updateSubscription(subscriptionId: number, input: UpdateSubscriptionInput): Outcome<SubscriptionRecord> {
    const subscription = this.subscriptions.get(subscriptionId);
    if (!subscription) {
      return fail(404, `Subscription with id ${subscriptionId} does not exists`);
    }
    if (subscription.status === 'terminated') {
      return fail(422, `Subscription with id ${subscriptionId} is terminated and cannot be changed`);
    }
    switch (input.field) {
      case 'status':
        return this.moveSubscription(subscription, input.status, null);
      case 'paymentDetailsId': {
        const foreign = this.checkOwnDetails(input.paymentDetailsId, subscription.customerId);
        if (foreign) {
          return foreign;
        }
        subscription.paymentDetailsId = input.paymentDetailsId;
        break;
      }
      case 'expiresAt':
        subscription.expiresAt = input.expiresAt;
        break;
      case 'inTrial':
        subscription.inTrial = input.inTrial;
        break;
      case 'couponCode':
        if (!findCoupon(input.couponCode)) {
          return fail(422, `couponCode: coupon ${input.couponCode} is not valid`);
        }
        subscription.couponCode = input.couponCode;
        break;
      case 'externalProperties':
        subscription.externalProperties = { ...subscription.externalProperties, ...input.externalProperties };
        break;
    }
    subscription.updatedAt = this.now();
    return succeed(subscription);
  }

  terminateSubscription(
    subscriptionId: number,
    terminationType: TerminationType,
  ): Outcome<SubscriptionRecord> {
    const subscription = this.subscriptions.get(subscriptionId);
    if (!subscription) {
      return fail(404, `Subscription with id ${subscriptionId} does not exists`);
    }
    return this.moveSubscription(subscription, 'terminated', terminationType);
  }

  private moveSubscription(
    subscription: SubscriptionRecord,
    to: SubscriptionStatus,
    terminationType: TerminationType | null,
  ): Outcome<SubscriptionRecord> {
    if (!SUBSCRIPTION_TRANSITIONS[subscription.status].includes(to)) {
      return fail(
        422,
        `status: subscription ${subscription.subscriptionId} cannot go from ${subscription.status} to ${to}`,
      );
    }
    subscription.status = to;
    if (to === 'terminated') {
      subscription.terminationType = terminationType;
    }
    subscription.updatedAt = this.now();
    return succeed(subscription);
  }

  /** Active subscriptions whose paid period ends at or before `asOf`: the renewals Cleeng would bill. */
  subscriptionsDue(asOf: Date): SubscriptionRecord[] {
    return [...this.subscriptions.values()].filter(
      (s) =>
        s.status === 'active' &&
        !s.externallyManaged &&
        s.expiresAt.getTime() <= asOf.getTime() &&
        !this.isExternallyManaged(s.paymentMethodId),
    );
  }

  /**
   * The publisher configured this payment method as externally managed in Cleeng: the gateway runs the schedule
   * (SmartPay billing cycles), so Cleeng sends no renewal webhooks for its subscriptions.
   */
  isExternallyManaged(paymentMethodId: number): boolean {
    return EXTERNALLY_MANAGED_GATEWAYS.includes(this.gatewayByPaymentMethodId.get(paymentMethodId) ?? '');
  }

  /** Missing fields fall back to DEFAULT_DUNNING (not to the previous setting). */
  setDunning(settings: DunningInput): DunningSettings {
    this.dunning = copyDunning({ ...DEFAULT_DUNNING, ...settings });
    for (const subscription of this.subscriptions.values()) {
      subscription.nextPaymentAction = this.nextPaymentAction();
    }
    return this.dunningSettings();
  }

  dunningSettings(): DunningSettings {
    return copyDunning(this.dunning);
  }

  private addPayment(payment: PaymentRecord): void {
    this.payments.set(payment.id, payment);
    appendTo(this.paymentsByOrder, payment.orderId, payment);
    if (payment.subscriptionId !== null) {
      appendTo(this.paymentsBySubscription, payment.subscriptionId, payment);
    }
  }

  /** A payment that created its subscription (the initial purchase) belongs to it from now on. */
  private linkPayment(payment: PaymentRecord, subscriptionId: number): void {
    if (payment.subscriptionId === subscriptionId) {
      return;
    }
    if (payment.subscriptionId !== null) {
      const earlier = this.paymentsBySubscription.get(payment.subscriptionId) ?? [];
      this.paymentsBySubscription.set(
        payment.subscriptionId,
        earlier.filter((p) => p !== payment),
      );
    }
    payment.subscriptionId = subscriptionId;
    appendTo(this.paymentsBySubscription, subscriptionId, payment);
  }

  private addSubscription(subscription: SubscriptionRecord): void {
    this.subscriptions.set(subscription.subscriptionId, subscription);
    this.subscribedOffers.add(`${subscription.customerId}:${subscription.offerId}`);
  }

  // ---- renewal (dunning) progress, kept here so reset() clears it with everything else ----

  renewalState(subscriptionId: number): RenewalState | undefined {
    return this.renewals.get(subscriptionId);
  }

  saveRenewalState(state: RenewalState): void {
    this.renewals.set(state.subscriptionId, state);
  }

  renewalStates(): RenewalState[] {
    return [...this.renewals.values()];
  }

  /** Recurring payments reported for a subscription, oldest first. */
  recurringPaymentsOf(subscriptionId: number): PaymentRecord[] {
    return (this.paymentsBySubscription.get(subscriptionId) ?? [])
      .filter((p) => p.paymentOperation === 'recurring-payment')
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id - b.id);
  }

  // ---- events (webhook seam) ----

  onEvent(listener: (event: CleengSandboxEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Every change the connector makes to a payment (create, capture, reject, refund, cancel), after the
   * change is complete. The renewal scheduler listens here. Returns the unsubscribe function.
   */
  onPaymentChange(listener: (payment: PaymentRecord) => void): () => void {
    this.paymentListeners.add(listener);
    return () => this.paymentListeners.delete(listener);
  }

  private emit(event: CleengSandboxEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error: unknown) {
        // the webhook sender failing must not undo (or fail) the API call that caused the event
        this.logger.error(`event listener failed for ${event.type}: ${String(error)}`);
      }
    }
  }

  private paymentChanged(payment: PaymentRecord): void {
    for (const listener of this.paymentListeners) {
      try {
        listener(payment);
      } catch (error: unknown) {
        this.logger.error(`payment listener failed for payment ${payment.id}: ${String(error)}`);
      }
    }
  }

  // ---- lookups and wire views ----

  findOrder(orderId: number): OrderRecord | undefined {
    return this.orders.get(orderId);
  }

  findPayment(paymentId: number): PaymentRecord | undefined {
    return this.payments.get(paymentId);
  }

  findPaymentDetails(paymentDetailsId: number): PaymentDetailsRecord | undefined {
    return this.paymentDetails.get(paymentDetailsId);
  }

  findSubscription(subscriptionId: number): SubscriptionRecord | undefined {
    return this.subscriptions.get(subscriptionId);
  }

  gatewayOf(paymentMethodId: number): string {
    return this.gatewayByPaymentMethodId.get(paymentMethodId) ?? 'unknown';
  }

  wireOrder(order: OrderRecord): WireOrder {
    return toWireOrder(order);
  }

  wirePayment(payment: PaymentRecord): WirePayment {
    return toWirePayment(payment, this.gatewayOf(payment.paymentMethodId));
  }

  wirePaymentDetails(details: PaymentDetailsRecord): WirePaymentDetails {
    const subscriptionIds = [...this.subscriptions.values()]
      .filter((s) => s.paymentDetailsId === details.id)
      .map((s) => s.subscriptionId);
    return toWirePaymentDetails(details, this.gatewayOf(details.paymentMethodId), subscriptionIds);
  }

  wireSubscription(subscription: SubscriptionRecord): WireSubscription {
    return toWireSubscription(subscription, this.periodOf(subscription.offerId));
  }

  private periodOf(offerId: string): BillingPeriod {
    return findOffer(offerId)?.period ?? { unit: 'month', amount: 1 };
  }

  snapshot(): CleengSandboxState {
    return {
      orders: [...this.orders.values()].map((o) => this.wireOrder(o)),
      payments: [...this.payments.values()].map((p) => this.wirePayment(p)),
      paymentDetails: [...this.paymentDetails.values()].map((d) => this.wirePaymentDetails(d)),
      subscriptions: [...this.subscriptions.values()].map((s) => this.wireSubscription(s)),
    };
  }

  // ---- idempotency and request log ----

  /**
   * Our documented extension (real Cleeng has no Idempotency-Key): the first response to a key is
   * stored and returned again for a repeat; the same key with a different request is a conflict.
   */
  idempotent(scope: string, key: string, fingerprint: string, run: () => CleengResponse): IdempotentResult {
    const storageKey = `${scope}\n${key}`;
    const stored = this.idempotency.get(storageKey);
    if (stored) {
      return stored.fingerprint === fingerprint
        ? { kind: 'replayed', response: stored.response }
        : { kind: 'conflict' };
    }
    const response = run();
    this.idempotency.set(storageKey, { fingerprint, response });
    return { kind: 'fresh', response };
  }

  logRequest(entry: Omit<RequestLogEntry, 'at'>): void {
    this.requestLog.push({ ...entry, at: this.now().toISOString() });
  }

  requests(): RequestLogEntry[] {
    return [...this.requestLog];
  }

  /** Unit tests: ids from 100000001 etc., as in Cleeng's docs. */
  useDeterministicIds(): void {
    this.nextIds = { ...FIRST_IDS };
  }

  reset(): void {
    this.webhookSubscriptions.reset();
    this.orders = new Map();
    this.payments = new Map();
    this.paymentDetails = new Map();
    this.subscriptions = new Map();
    this.paymentsByOrder = new Map();
    this.paymentsBySubscription = new Map();
    this.detailsByCustomer = new Map();
    this.subscribedOffers = new Set();
    this.nextIds = processUniqueIds();
    this.idempotency = new Map();
    this.requestLog = [];
    this.dunning = copyDunning(DEFAULT_DUNNING);
    this.renewals = new Map();
  }
}

function appendTo<K, V>(index: Map<K, V[]>, key: K, value: V): void {
  const values = index.get(key);
  if (values) {
    values.push(value);
  } else {
    index.set(key, [value]);
  }
}

function copyDunning(settings: Readonly<DunningSettings>): DunningSettings {
  return { ...settings, paymentAttempts: [...settings.paymentAttempts] };
}
