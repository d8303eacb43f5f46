import type { RebillAttemptEntity } from '../rebilling/rebill-attempt.entity';
import type { ConnectorSubscriptionEntity } from './subscription.entity';

interface MoneyView {
  value: number;
  currency: string;
}

interface DeclineView {
  code: string;
  class: string;
  reason: string;
  rawCode?: string;
}

export interface RebillAttemptView {
  id: string;
  periodIndex: number;
  periodStart: string;
  periodEnd: string;
  status: string;
  amount: MoneyView;
  tryNumber: number;
  idempotencyKey: string;
  externalPaymentId?: string;
  decline?: DeclineView;
  retryScheduled: boolean;
  refunded: MoneyView;
  tries: RebillAttemptEntity['tries'];
  adjustments: RebillAttemptEntity['adjustments'];
  lastError?: string;
  capturedAt?: string;
  createdAt: string;
  updatedAt: string;
}

export interface SubscriptionView {
  id: string;
  customerId: string;
  gateway: string;
  status: string;
  externalSubscriptionId?: string;
  cleengSubscriptionId?: string;
  offerId?: string;
  productId?: string;
  paymentDetailsId?: string;
  quantity: number;
  amount: MoneyView;
  interval: string;
  /** start of the next period to charge */
  nextBillingAt: string;
  /** when the rebiller looks at it next (dunning retry, technical retry, grace period end) */
  nextAttemptAt?: string;
  extraParameters: Record<string, string>;
  dunning?: { step: number; startedAt: string; lastDecline?: DeclineView };
  checkoutUrl?: string;
  checkoutExpiresAt?: string;
  lastError?: string;
  cancelledAt?: string;
  cancelReason?: string;
  createdAt: string;
  updatedAt: string;
  attempts?: RebillAttemptView[];
}

function declineView(
  d: { code: string; class: string; reason: string; rawCode?: string } | null,
): DeclineView | undefined {
  return d
    ? { code: d.code, class: d.class, reason: d.reason, ...(d.rawCode ? { rawCode: d.rawCode } : {}) }
    : undefined;
}

export function toAttemptView(a: RebillAttemptEntity): RebillAttemptView {
  const decline = declineView(a.decline);
  return {
    id: a.id,
    periodIndex: a.periodIndex,
    periodStart: a.periodStart.toISOString(),
    periodEnd: a.periodEnd.toISOString(),
    status: a.status,
    amount: { value: a.amountMinor, currency: a.currency },
    tryNumber: a.tryNumber,
    idempotencyKey: a.idempotencyKey,
    ...(a.externalPaymentId ? { externalPaymentId: a.externalPaymentId } : {}),
    ...(decline ? { decline } : {}),
    retryScheduled: a.retryScheduled,
    refunded: { value: a.refundedMinor, currency: a.currency },
    tries: a.tries,
    adjustments: a.adjustments,
    ...(a.lastError ? { lastError: a.lastError } : {}),
    ...(a.capturedAt ? { capturedAt: a.capturedAt.toISOString() } : {}),
    createdAt: a.createdAt.toISOString(),
    updatedAt: a.updatedAt.toISOString(),
  };
}

export function toSubscriptionView(
  s: ConnectorSubscriptionEntity,
  attempts?: RebillAttemptEntity[],
): SubscriptionView {
  const lastDecline = declineView(s.lastDecline);
  return {
    id: s.id,
    customerId: s.customerId,
    gateway: s.gateway,
    status: s.status,
    ...(s.externalSubscriptionId ? { externalSubscriptionId: s.externalSubscriptionId } : {}),
    ...(s.cleengSubscriptionId ? { cleengSubscriptionId: s.cleengSubscriptionId } : {}),
    ...(s.offerId ? { offerId: s.offerId } : {}),
    ...(s.productId ? { productId: s.productId } : {}),
    ...(s.paymentDetailsId ? { paymentDetailsId: s.paymentDetailsId } : {}),
    quantity: s.quantity,
    amount: { value: s.amountMinor, currency: s.currency },
    interval: s.billingInterval,
    nextBillingAt: s.nextBillingAt.toISOString(),
    ...(s.nextAttemptAt ? { nextAttemptAt: s.nextAttemptAt.toISOString() } : {}),
    extraParameters: s.xParameters,
    ...(s.dunningStartedAt
      ? {
          dunning: {
            step: s.dunningStep,
            startedAt: s.dunningStartedAt.toISOString(),
            ...(lastDecline ? { lastDecline } : {}),
          },
        }
      : {}),
    ...(s.checkoutUrl ? { checkoutUrl: s.checkoutUrl } : {}),
    ...(s.checkoutExpiresAt ? { checkoutExpiresAt: s.checkoutExpiresAt.toISOString() } : {}),
    ...(s.lastError ? { lastError: s.lastError } : {}),
    ...(s.cancelledAt ? { cancelledAt: s.cancelledAt.toISOString() } : {}),
    ...(s.cancelReason ? { cancelReason: s.cancelReason } : {}),
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
    ...(attempts ? { attempts: attempts.map(toAttemptView) } : {}),
  };
}
