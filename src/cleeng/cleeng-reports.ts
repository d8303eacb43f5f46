import { cleengId } from './cleeng.types';
import { Money } from '../common/money/money';
import type { Decline } from '../gateways/decline-codes';
import type { OutboxMessageInput } from '../outbox/outbox.service';

export const CLEENG_EMS_PAYMENT_CREATE = 'cleeng.ems-payment.create';

/**
 * Cleeng's externally-managed variant of `POST /3.1/payments` (external-apis.md: required customerId, status
 * captured|rejected, offerId, paymentMethodId, netAmount, taxAmount, currency, externalPaymentId; optional
 * country, rejectedReason, subscriptionId). Cleverbridge is merchant of record and charges the amount we
 * send, so that amount is reported as `netAmount` with `taxAmount: 0`.
 */
export interface EmsPaymentBody {
  customerId: number | string;
  status: 'captured' | 'rejected';
  offerId: string;
  paymentMethodId: number;
  netAmount: number;
  taxAmount: number;
  currency: string;
  externalPaymentId: string;
  subscriptionId?: number | string;
  rejectedReason?: string;
}

export interface EmsReportInput {
  subscriptionId: string;
  customerId: string;
  offerId: string;
  cleengSubscriptionId: string | null;
  paymentMethodId: number;
  amount: Money;
  attemptId: string;
  tryNumber: number;
  status: 'captured' | 'rejected';
  externalPaymentId: string;
  decline?: Decline;
}

/** One report per try and outcome, in order per subscription; the dedupe key makes a re-enqueue a no-op. */
export function emsPaymentReport(input: EmsReportInput): OutboxMessageInput {
  const body: EmsPaymentBody = {
    customerId: cleengId(input.customerId),
    status: input.status,
    offerId: input.offerId,
    paymentMethodId: input.paymentMethodId,
    netAmount: input.amount.toMajorNumber(),
    taxAmount: 0,
    currency: input.amount.currency,
    externalPaymentId: input.externalPaymentId,
    ...(input.cleengSubscriptionId ? { subscriptionId: cleengId(input.cleengSubscriptionId) } : {}),
    ...(input.status === 'rejected'
      ? { rejectedReason: input.decline ? `${input.decline.code}: ${input.decline.reason}` : 'declined' }
      : {}),
  };
  return {
    kind: CLEENG_EMS_PAYMENT_CREATE,
    aggregateId: input.subscriptionId,
    dedupeKey: `ems-payment:${input.attemptId}:${input.tryNumber}:${input.status}`,
    payload: { method: 'POST', path: '/payments', body: { ...body } },
  };
}
