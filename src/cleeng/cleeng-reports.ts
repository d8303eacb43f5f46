import { cleengId, CreatePaymentRequest } from './cleeng.types';
import { Money } from '../common/money/money';
import { decline as makeDecline, Decline } from '../gateways/decline-codes';
import type { OutboxMessageInput } from '../outbox/outbox.service';

/**
 * Every report to Cleeng, as an outbox message (delivered by the outbox dispatcher). One builder per report:
 * the body's wording, the dedupe key that makes a re-enqueue a no-op, and the aggregate that orders delivery.
 */

export const CLEENG_PAYMENT_CREATE = 'cleeng.payment.create';
export const CLEENG_PAYMENT_UPDATE = 'cleeng.payment.update';
export const CLEENG_PAYMENT_CANCEL = 'cleeng.payment.cancel';
export const CLEENG_PAYMENT_REFUND = 'cleeng.payment.refund';
export const CLEENG_DETAILS_CREATE = 'cleeng.payment_details.create';
export const CLEENG_DETAILS_DELETE = 'cleeng.payment_details.delete';
export const CLEENG_SUBSCRIPTION_TERMINATE = 'cleeng.subscription.terminate';

export const CLEENG_EMS_PAYMENT_CREATE = 'cleeng.ems-payment.create';
export const CLEENG_SUBSCRIPTION_LINK = 'cleeng.subscription.link';
export const CLEENG_PAYMENT_SUBSCRIPTION_LINK = 'cleeng.payment.subscription-link';
/** path/body params resolved at send time (registered by the subscriptions module) */
export const EMS_SUBSCRIPTION_PARAM = 'emsCleengSubscriptionId';
export const EMS_PAYMENT_PARAM = 'emsCleengPaymentId';

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
  /**
   * The Cleeng subscription exists but its id is not known yet (an earlier report of this subscription made
   * Cleeng create it): `subscriptionId` is filled when sent, from the link, and the report waits until then.
   */
  cleengSubscriptionAtSend?: boolean;
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
    payload: {
      method: 'POST',
      path: '/payments',
      body: { ...body },
      ...(!input.cleengSubscriptionId && input.cleengSubscriptionAtSend
        ? { bodyParams: { subscriptionId: EMS_SUBSCRIPTION_PARAM } }
        : {}),
    },
  };
}

/**
 * Cleeng's answer to an externally managed payment is its PaymentResource, which does not name the subscription
 * it created: `GET /3.1/subscriptions?customerId=&offerId=` finds it by `latestPaymentExternalId` (the result
 * handler links it). Queued right after the creating report, in the same order.
 */
export function emsSubscriptionLinkReport(input: {
  subscriptionId: string;
  customerId: string;
  offerId: string;
  externalPaymentId: string;
}): OutboxMessageInput {
  const query = new URLSearchParams({ customerId: input.customerId, offerId: input.offerId });
  return {
    kind: CLEENG_SUBSCRIPTION_LINK,
    aggregateId: input.subscriptionId,
    dedupeKey: `ems-subscription-link:${input.subscriptionId}:${input.externalPaymentId}`,
    payload: { method: 'GET', path: `/subscriptions?${query.toString()}`, ref: input.externalPaymentId },
  };
}

/**
 * Which Cleeng subscription an initial payment created: Cleeng's payment answer does not name it, so the customer's
 * subscriptions to the offer are listed and the one whose latest payment is ours is kept (on the payment). Ordered
 * after the payment's own report (same aggregate).
 */
export function paymentSubscriptionLinkReport(input: {
  paymentId: string;
  customerId: string;
  offerId: string;
  externalPaymentId: string;
}): OutboxMessageInput {
  const query = new URLSearchParams({ customerId: input.customerId, offerId: input.offerId });
  return {
    kind: CLEENG_PAYMENT_SUBSCRIPTION_LINK,
    aggregateId: input.paymentId,
    dedupeKey: `payment-subscription-link:${input.paymentId}`,
    payload: { method: 'GET', path: `/subscriptions?${query.toString()}`, ref: input.externalPaymentId },
  };
}

export interface EmsAfterSaleInput {
  subscriptionId: string;
  /** the gateway payment reported earlier (its Cleeng payment id is found when sent) */
  externalPaymentId: string;
  /** the reported payment created the Cleeng subscription (initial-payment) or renewed it (recurring-payment) */
  paymentOperation: 'initial-payment' | 'recurring-payment';
  kind: 'refund' | 'chargeback';
  /** the gateway's id of the refund / chargeback: one report each */
  adjustmentId: string;
  amount: Money;
  reason: string | null;
}

/**
 * A refund or chargeback made at the gateway, on the externally managed Cleeng payment: `PATCH
 * /3.1/payments/{id}` status refunded (design §10) without `orderId` (such a payment has no order), with
 * `refundType` refund or chargeback. Ordered after the payment's own report (same aggregate).
 */
export function emsAfterSaleReport(input: EmsAfterSaleInput): OutboxMessageInput {
  return {
    kind: CLEENG_PAYMENT_REFUND,
    aggregateId: input.subscriptionId,
    dedupeKey: `ems-after-sale:${input.subscriptionId}:${input.externalPaymentId}:${input.kind}:${input.adjustmentId}`,
    payload: {
      method: 'PATCH',
      path: `/payments/{${EMS_PAYMENT_PARAM}}`,
      ref: input.externalPaymentId,
      body: {
        status: 'refunded',
        paymentOperation: input.paymentOperation,
        refundedReason: input.reason ?? input.kind,
        refundedAmount: input.amount.toMajorNumber(),
        refundType: input.kind,
      },
    },
  };
}

/** How a decline reads in Cleeng's `rejectedReason`. */
export function reasonOf(decline: Decline): string {
  return decline.rawReason ? `${decline.reason} (${decline.rawReason})` : decline.reason;
}

export interface PaymentCreateInput {
  paymentId: string;
  cleengOrderId: string;
  status: 'captured' | 'authorized' | 'rejected';
  paymentOperation: CreatePaymentRequest['paymentOperation'];
  externalPaymentId: string | null;
  /** why it was rejected (a generic decline when unknown) */
  decline: Decline | null;
  cleengSubscriptionId?: string;
  cleengPaymentDetailsId?: string;
  /** a new recurring token: Cleeng stores it as the payment details (sealed in the outbox) */
  recurringToken?: { token: string; card: Record<string, unknown> };
}

/**
 * `POST /3.1/payments` for an initial or Cleeng-managed recurring payment. A rejection without a gateway
 * payment has no externalPaymentId; otherwise our payment id stands in for a missing one.
 */
export function paymentCreateReport(input: PaymentCreateInput): OutboxMessageInput {
  const rejected = input.status === 'rejected';
  const body: CreatePaymentRequest = {
    orderId: cleengId(input.cleengOrderId),
    status: input.status,
    paymentOperation: input.paymentOperation,
    ...(!rejected || input.externalPaymentId
      ? { externalPaymentId: input.externalPaymentId ?? input.paymentId }
      : {}),
    ...(rejected ? { rejectedReason: reasonOf(input.decline ?? makeDecline('PAY_DEC')) } : {}),
    ...(input.cleengSubscriptionId ? { subscriptionId: input.cleengSubscriptionId } : {}),
    ...(input.cleengPaymentDetailsId ? { paymentDetailsId: cleengId(input.cleengPaymentDetailsId) } : {}),
  };
  // renewals pay with details Cleeng already has
  const token = input.paymentOperation === 'recurring-payment' ? undefined : input.recurringToken;
  if (token) {
    body.paymentDetails = { token: '', paymentMethodSpecificParams: { ...token.card } };
  }
  return {
    kind: CLEENG_PAYMENT_CREATE,
    aggregateId: input.paymentId,
    dedupeKey: `cleeng:payment:create:${input.paymentId}`,
    payload: {
      method: 'POST',
      path: '/payments',
      body: { ...body },
      ...(token ? { secretPath: 'paymentDetails.token' } : {}),
    },
    ...(token ? { secret: token.token } : {}),
  };
}

/** `PATCH /3.1/payments/{cleengPaymentId}`: the id is filled in at send time (after the create is delivered). */
export function paymentUpdateReport(
  paymentId: string,
  externalPaymentId: string | null,
  change: Record<string, unknown>,
  dedupe: string,
): OutboxMessageInput {
  return {
    kind: CLEENG_PAYMENT_UPDATE,
    aggregateId: paymentId,
    dedupeKey: `cleeng:payment:update:${paymentId}:${dedupe}`,
    payload: {
      method: 'PATCH',
      path: '/payments/{cleengPaymentId}',
      body: { ...change, ...(externalPaymentId ? { externalPaymentId } : {}) },
    },
  };
}

/** `PATCH /3.1/payments/{id}/cancel` for one of our payments Cleeng knows as authorised. */
export function paymentCancelReport(paymentId: string, cleengPaymentId: string): OutboxMessageInput {
  return {
    kind: CLEENG_PAYMENT_CANCEL,
    aggregateId: paymentId,
    dedupeKey: `cleeng:payment:cancel:${paymentId}`,
    payload: { method: 'PATCH', path: `/payments/${encodeURIComponent(cleengPaymentId)}/cancel` },
  };
}

/** The same cancel for a payment Cleeng names that is not ours (authorised elsewhere or before us). */
export function remotePaymentCancelReport(cleengPaymentId: string): OutboxMessageInput {
  return {
    kind: CLEENG_PAYMENT_CANCEL,
    aggregateId: `cleeng-payment:${cleengPaymentId}`,
    dedupeKey: `cleeng:payment:cancel:remote:${cleengPaymentId}`,
    payload: { method: 'PATCH', path: `/payments/${encodeURIComponent(cleengPaymentId)}/cancel` },
  };
}

export interface RefundReportInput {
  paymentId: string;
  refundId: string;
  cleengOrderId: string;
  paymentOperation: string;
  reason: string | null;
  amount: Money;
}

/** Cleeng refund update (design §10): `PATCH /3.1/payments/{cleengPaymentId}` status refunded. */
export function paymentRefundReport(input: RefundReportInput): OutboxMessageInput {
  return {
    kind: CLEENG_PAYMENT_REFUND,
    aggregateId: input.paymentId,
    dedupeKey: `cleeng:payment:refund:${input.refundId}`,
    payload: {
      method: 'PATCH',
      path: '/payments/{cleengPaymentId}',
      body: {
        status: 'refunded',
        orderId: cleengId(input.cleengOrderId),
        paymentOperation: input.paymentOperation,
        refundedReason: input.reason ?? 'refund',
        refundedAmount: input.amount.toMajorNumber(),
        refundType: 'refund',
      },
    },
  };
}

export interface PaymentDetailsCreateInput {
  detailsId: string;
  customerId: string;
  paymentMethodId: number;
  card: Record<string, unknown>;
  /** sealed in the outbox; put into the body only when sending */
  token: string;
}

/** `POST /3.1/payment_details` for a card tokenised without a payment. */
export function paymentDetailsCreateReport(input: PaymentDetailsCreateInput): OutboxMessageInput {
  return {
    kind: CLEENG_DETAILS_CREATE,
    aggregateId: input.detailsId,
    dedupeKey: `cleeng:payment_details:create:${input.detailsId}`,
    payload: {
      method: 'POST',
      path: '/payment_details',
      body: {
        customerId: Number(input.customerId),
        token: '',
        paymentMethodId: input.paymentMethodId,
        paymentMethodSpecificParams: { ...input.card },
        active: true,
      },
      secretPath: 'token',
    },
    secret: input.token,
  };
}

/** `DELETE /3.1/payment_details/{cleengPaymentDetailsId}` of our details (the id is resolved at send time). */
export function paymentDetailsDeleteReport(detailsId: string): OutboxMessageInput {
  return {
    kind: CLEENG_DETAILS_DELETE,
    aggregateId: detailsId,
    dedupeKey: `cleeng:payment_details:delete:local:${detailsId}`,
    payload: { method: 'DELETE', path: '/payment_details/{cleengPaymentDetailsId}' },
  };
}

/** The same delete by Cleeng's id (a deactivation Cleeng announced); `localId` when we have the details. */
export function remotePaymentDetailsDeleteReport(
  cleengPaymentDetailsId: string,
  localId: string | undefined,
): OutboxMessageInput {
  return {
    kind: CLEENG_DETAILS_DELETE,
    aggregateId: localId ?? `cleeng-payment-details:${cleengPaymentDetailsId}`,
    dedupeKey: `cleeng:payment_details:delete:${cleengPaymentDetailsId}`,
    payload: { method: 'DELETE', path: `/payment_details/${encodeURIComponent(cleengPaymentDetailsId)}` },
  };
}

/** `PATCH /3.1/subscriptions/{id}` status terminated, once per termination event. */
export function subscriptionTerminateReport(
  cleengSubscriptionId: string,
  eventId: string,
): OutboxMessageInput {
  return {
    kind: CLEENG_SUBSCRIPTION_TERMINATE,
    aggregateId: `cleeng-subscription:${cleengSubscriptionId}`,
    dedupeKey: `cleeng:subscription:terminate:${cleengSubscriptionId}:${eventId}`,
    payload: {
      method: 'PATCH',
      path: `/subscriptions/${encodeURIComponent(cleengSubscriptionId)}`,
      body: { status: 'terminated' },
    },
  };
}

/**
 * One billing cycle of a gateway-managed subscription (billing mode 2) as an externally managed payment: the
 * dedupe key is the gateway's transaction and the outcome, so each cycle is reported once however often the
 * gateway repeats its notification.
 */
export function emsCycleReport(
  input: Omit<EmsReportInput, 'attemptId' | 'tryNumber'> & { gateway: string },
): OutboxMessageInput {
  const message = emsPaymentReport({ ...input, attemptId: input.externalPaymentId, tryNumber: 0 });
  return {
    ...message,
    dedupeKey: `ems-payment:cycle:${input.gateway}:${input.externalPaymentId}:${input.status}`,
  };
}
