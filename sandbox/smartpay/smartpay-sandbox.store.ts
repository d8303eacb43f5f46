import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Clock } from '../clock/clock';
import { addPeriod, BillingPeriod } from '../cleeng/cleeng-sandbox.offers';
import { Money } from '../shared/money';

/** SmartPay's answer to a bad request: `{code, message}` with an HTTP status. */
export class SmartPayApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface PlanRecord {
  id: string;
  name: string;
  description: string;
  recurrentAmount: number;
  currencyIsoCode: string;
  billingOccurrence: number;
  billingUnit: 'day' | 'month' | 'year';
  billingCycles: number;
  prepaid: boolean;
  merchantMetadata?: string;
  createdAt: string;
}

export interface BillingCycleRecord {
  id: string;
  subscriptionId: string;
  dueAt: string;
  amount: number;
  currencyIsoCode: string;
  status: 'succeeded' | 'failed';
  transactionId: string;
  resultCode?: string;
  resultMessage?: string;
}

export interface SubscriptionRecord {
  id: string;
  planId: string;
  customerAccountId: string;
  startDate: string;
  status: 'pending' | 'active' | 'paused' | 'cancelled' | 'expired';
  externalMerchantId?: string;
  merchantMetadata?: string;
  billingAddress: Record<string, unknown>;
  consumer: Record<string, unknown>;
  /** the widget stored a payment option (test card) */
  storedPaymentOption: string | null;
  nextBillingDate: string | null;
  billingCycles: BillingCycleRecord[];
  /** outcomes of the next cycles (`succeeded` or a result code), then the stored card decides */
  nextOutcomes: string[];
}

export interface TransactionRecord {
  id: string;
  paymentSeriesId: string;
  amount: number;
  currencyIsoCode: string;
  partnerReference: string;
  description?: string;
  status: 'succeeded' | 'failed';
  resultCode?: string;
  resultMessage?: string;
  createdAt: string;
}

export interface PaymentSerieRecord {
  id: string;
  customerAccountId: string;
  currencyIsoCode: string;
  status: 'pending' | 'active';
  storedPaymentOption: string | null;
  transactions: TransactionRecord[];
  nextOutcomes: string[];
}

export interface SmartPayNotificationBody {
  id: string;
  createdAt: string;
  sourceSystem: 'subscription-module';
  origin: 'api' | 'widget' | 'automated';
  eventType: string;
  objectId: string;
  data: Record<string, unknown>;
}

/** Test cards of the widget stand-in (DESIGN §7) and the result code every charge on them gets. */
export const SMARTPAY_TEST_CARDS: Record<string, string> = {
  '4111111111111111': 'succeeded',
  '4000000000000002': 'do_not_honor',
  '4000000000009995': 'insufficient_funds',
  '4000000000000069': 'card_expired',
  '4000000000000127': 'invalid_cvc',
  '4100000000000019': 'fraud_suspected',
};

const RESULT_MESSAGES: Record<string, string> = {
  do_not_honor: 'Do not honor',
  insufficient_funds: 'Insufficient funds',
  card_expired: 'Expired card',
  invalid_cvc: 'Invalid CVC',
  fraud_suspected: 'Suspected fraud',
  acquirer_error: 'Acquirer error',
};

export const SMARTPAY_RESULT_CODES = Object.keys(RESULT_MESSAGES);

function periodOf(plan: PlanRecord): BillingPeriod {
  return { unit: plan.billingUnit, amount: plan.billingOccurrence };
}

/**
 * All state of the SmartPay Subscription Module emulator, in memory and synchronous. Billing cycles run when
 * due by the shared Clock (`runDue`), each with one transaction whose outcome is the next queued outcome or the
 * stored test card's; every change SmartPay would announce becomes a notification for the notifier.
 */
@Injectable()
export class SmartPaySandboxStore {
  private plans = new Map<string, PlanRecord>();
  private subscriptions = new Map<string, SubscriptionRecord>();
  private series = new Map<string, PaymentSerieRecord>();

  constructor(private readonly clock: Clock) {}

  createPlan(input: Omit<PlanRecord, 'id' | 'createdAt'>): PlanRecord {
    const plan: PlanRecord = {
      ...input,
      id: `SubscriptionPlan-${randomUUID()}`,
      createdAt: this.clock.now().toISOString(),
    };
    this.plans.set(plan.id, plan);
    return plan;
  }

  listPlans(): PlanRecord[] {
    return [...this.plans.values()];
  }

  createSubscription(
    input: Pick<
      SubscriptionRecord,
      | 'planId'
      | 'customerAccountId'
      | 'startDate'
      | 'externalMerchantId'
      | 'merchantMetadata'
      | 'billingAddress'
      | 'consumer'
    >,
  ): SubscriptionRecord {
    if (!this.plans.has(input.planId)) {
      throw new SmartPayApiError(404, 'PLAN_NOT_FOUND', `planId: plan ${input.planId} not found`);
    }
    const start = new Date(input.startDate);
    // "not in past": a minute of clock difference is tolerated
    if (start.getTime() < this.clock.now().getTime() - 60_000) {
      throw new SmartPayApiError(400, 'VALIDATION_ERROR', 'startDate must not be in the past');
    }
    const subscription: SubscriptionRecord = {
      ...input,
      id: `subscription-${randomUUID()}`,
      status: 'pending',
      storedPaymentOption: null,
      nextBillingDate: null,
      billingCycles: [],
      nextOutcomes: [],
    };
    this.subscriptions.set(subscription.id, subscription);
    return subscription;
  }

  getSubscription(id: string): SubscriptionRecord {
    const found = this.subscriptions.get(id);
    if (!found) {
      throw new SmartPayApiError(404, 'SUBSCRIPTION_NOT_FOUND', `subscription ${id} not found`);
    }
    return found;
  }

  listSubscriptions(filter: { externalMerchantId?: string }): SubscriptionRecord[] {
    return [...this.subscriptions.values()].filter(
      (s) => filter.externalMerchantId === undefined || s.externalMerchantId === filter.externalMerchantId,
    );
  }

  createPaymentSerie(input: { customerAccountId: string; currencyIsoCode: string }): PaymentSerieRecord {
    const serie: PaymentSerieRecord = {
      ...input,
      id: `paymentSerie-${randomUUID()}`,
      status: 'pending',
      storedPaymentOption: null,
      transactions: [],
      nextOutcomes: [],
    };
    this.series.set(serie.id, serie);
    return serie;
  }

  getSerie(id: string): PaymentSerieRecord {
    const found = this.series.get(id);
    if (!found) {
      throw new SmartPayApiError(404, 'PAYMENT_SERIE_NOT_FOUND', `payment serie ${id} not found`);
    }
    return found;
  }

  /**
   * Create PS Transaction: the same `partnerReference` on the same serie answers the first transaction again
   * (SmartPay "blocks double processing"); nothing is charged twice.
   */
  createTransaction(
    serieId: string,
    input: { amount: Money; partnerReference: string; description?: string },
  ): { transaction: TransactionRecord; fresh: boolean; notifications: SmartPayNotificationBody[] } {
    const serie = this.getSerie(serieId);
    const earlier = serie.transactions.find((t) => t.partnerReference === input.partnerReference);
    if (earlier) {
      return { transaction: earlier, fresh: false, notifications: [] };
    }
    if (!serie.storedPaymentOption) {
      throw new SmartPayApiError(
        422,
        'NO_STORED_PAYMENT_OPTION',
        `payment serie ${serie.id} has no stored payment option`,
      );
    }
    if (input.amount.currency !== serie.currencyIsoCode) {
      throw new SmartPayApiError(400, 'VALIDATION_ERROR', `currencyIsoCode must be ${serie.currencyIsoCode}`);
    }
    const outcome =
      serie.nextOutcomes.shift() ?? SMARTPAY_TEST_CARDS[serie.storedPaymentOption] ?? 'succeeded';
    const transaction: TransactionRecord = {
      id: `transaction-${randomUUID()}`,
      paymentSeriesId: serie.id,
      amount: input.amount.toMajorNumber(),
      currencyIsoCode: input.amount.currency,
      partnerReference: input.partnerReference,
      ...(input.description ? { description: input.description } : {}),
      ...this.result(outcome),
      createdAt: this.clock.now().toISOString(),
    };
    serie.transactions.push(transaction);
    return {
      transaction,
      fresh: true,
      notifications: [
        this.notification('automated', 'billing.updated', serie.id, {
          paymentSeriesId: serie.id,
          transactionId: transaction.id,
          partnerReference: transaction.partnerReference,
          amount: transaction.amount,
          currencyIsoCode: transaction.currencyIsoCode,
          status: transaction.status,
          ...(transaction.resultCode
            ? { resultCode: transaction.resultCode, resultMessage: transaction.resultMessage }
            : {}),
        }),
      ],
    };
  }

  /**
   * The widget stored a payment option (a test card) for a subscription or a payment serie. A prepaid
   * subscription starting now runs its first billing cycle at once.
   */
  storePaymentOption(objectId: string, card: string): SmartPayNotificationBody[] {
    if (!(card in SMARTPAY_TEST_CARDS)) {
      throw new SmartPayApiError(400, 'VALIDATION_ERROR', `card: not a sandbox test card`);
    }
    const serie = this.series.get(objectId);
    if (serie) {
      serie.storedPaymentOption = card;
      serie.status = 'active';
      return [
        this.notification('widget', 'status.updated', serie.id, {
          paymentSeriesId: serie.id,
          status: 'active',
        }),
      ];
    }
    const subscription = this.getSubscription(objectId);
    if (subscription.status !== 'pending') {
      throw new SmartPayApiError(
        409,
        'INVALID_STATE',
        `subscription ${subscription.id} is ${subscription.status}`,
      );
    }
    const plan = this.plans.get(subscription.planId);
    subscription.storedPaymentOption = card;
    subscription.status = 'active';
    const start = new Date(subscription.startDate);
    subscription.nextBillingDate = (
      plan?.prepaid === false && plan ? addPeriod(start, periodOf(plan)) : start
    ).toISOString();
    return [
      this.notification('widget', 'status.updated', subscription.id, {
        subscriptionId: subscription.id,
        status: 'active',
      }),
      ...this.runDue(this.clock.now()),
    ];
  }

  /** Outcomes of the next billing cycles (or PS transactions): `succeeded` or a result code. */
  queueOutcomes(objectId: string, outcomes: string[]): string[] {
    const target = this.series.get(objectId) ?? this.getSubscription(objectId);
    target.nextOutcomes.push(...outcomes);
    return target.nextOutcomes;
  }

  /** The customer or merchant cancelled the subscription in SmartPay: no further cycles. */
  cancel(id: string): SmartPayNotificationBody[] {
    const subscription = this.getSubscription(id);
    if (subscription.status === 'cancelled' || subscription.status === 'expired') {
      return [];
    }
    subscription.status = 'cancelled';
    subscription.nextBillingDate = null;
    return [this.notification('api', 'status.updated', id, { subscriptionId: id, status: 'cancelled' })];
  }

  /** Every billing cycle due at `now`, oldest first; a plan's last cycle expires the subscription. */
  runDue(now: Date): SmartPayNotificationBody[] {
    const out: SmartPayNotificationBody[] = [];
    for (const subscription of this.subscriptions.values()) {
      const plan = this.plans.get(subscription.planId);
      while (
        plan &&
        subscription.status === 'active' &&
        subscription.nextBillingDate !== null &&
        new Date(subscription.nextBillingDate).getTime() <= now.getTime()
      ) {
        const dueAt = new Date(subscription.nextBillingDate);
        const outcome =
          subscription.nextOutcomes.shift() ??
          SMARTPAY_TEST_CARDS[subscription.storedPaymentOption ?? ''] ??
          'succeeded';
        const cycle: BillingCycleRecord = {
          id: `billingCycle-${randomUUID()}`,
          subscriptionId: subscription.id,
          dueAt: dueAt.toISOString(),
          amount: plan.recurrentAmount,
          currencyIsoCode: plan.currencyIsoCode,
          transactionId: `transaction-${randomUUID()}`,
          ...this.result(outcome),
        };
        subscription.billingCycles.push(cycle);
        out.push(
          this.notification('automated', 'billing.updated', subscription.id, {
            subscriptionId: subscription.id,
            billingCycleId: cycle.id,
            amount: cycle.amount,
            currencyIsoCode: cycle.currencyIsoCode,
            status: cycle.status,
            transactionId: cycle.transactionId,
            ...(cycle.resultCode ? { resultCode: cycle.resultCode, resultMessage: cycle.resultMessage } : {}),
          }),
        );
        subscription.nextBillingDate = addPeriod(dueAt, periodOf(plan)).toISOString();
        if (plan.billingCycles !== -1 && subscription.billingCycles.length >= plan.billingCycles) {
          subscription.status = 'expired';
          subscription.nextBillingDate = null;
          out.push(
            this.notification('automated', 'status.updated', subscription.id, {
              subscriptionId: subscription.id,
              status: 'expired',
            }),
          );
        }
      }
    }
    return out;
  }

  state(): { plans: PlanRecord[]; subscriptions: SubscriptionRecord[]; paymentSeries: PaymentSerieRecord[] } {
    return {
      plans: [...this.plans.values()],
      subscriptions: [...this.subscriptions.values()],
      paymentSeries: [...this.series.values()],
    };
  }

  reset(): void {
    this.plans.clear();
    this.subscriptions.clear();
    this.series.clear();
  }

  private result(outcome: string): Pick<TransactionRecord, 'status' | 'resultCode' | 'resultMessage'> {
    return outcome === 'succeeded'
      ? { status: 'succeeded' }
      : { status: 'failed', resultCode: outcome, resultMessage: RESULT_MESSAGES[outcome] ?? outcome };
  }

  private notification(
    origin: SmartPayNotificationBody['origin'],
    eventType: string,
    objectId: string,
    data: Record<string, unknown>,
  ): SmartPayNotificationBody {
    const now = this.clock.now();
    return {
      id: `event-${randomUUID()}`,
      // the documented "yyyy-MM-dd'T'HH:mm:ss.SS'Z" (two fraction digits)
      createdAt: `${now.toISOString().slice(0, 22)}Z`,
      sourceSystem: 'subscription-module',
      origin,
      eventType,
      objectId,
      data,
    };
  }
}
