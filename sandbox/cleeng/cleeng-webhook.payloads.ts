import { Money } from '../shared/money';
import { findOffer } from './cleeng-sandbox.offers';
import { PaymentDetailsRecord, PaymentRecord, SubscriptionRecord } from './cleeng-sandbox.types';

/**
 * Cleeng webhook bodies as the emulator sends them: `{broadcasterId, topic, data}`. Only the
 * subscriptionReadyForPaymentAuthorisation example is public (external-apis.md "Webhooks"); the other
 * `data` shapes are the ones DESIGN §10 assumes. This file is the one place to correct them.
 *
 * Ids are JSON numbers except `subscriptionId`, a string as in Cleeng's example; money is in major units.
 * A value the emulator does not have (no payment details, no externalPaymentId) is left out, not sent as null.
 */

/** The sandbox publisher's id, sent as `broadcasterId` (= publisherId) on every webhook. */
export const SANDBOX_BROADCASTER_ID = 900000001;

export const CLEENG_WEBHOOK_TOPICS = [
  'subscriptionReadyForPaymentAuthorisation',
  'subscriptionReadyForPaymentCapture',
  'subscriptionReadyForTermination',
  'paymentDetailsDeactivated',
  'refundPayment',
  'capturePayment',
] as const;
export type CleengWebhookTopic = (typeof CLEENG_WEBHOOK_TOPICS)[number];

export interface RenewalData {
  subscriptionId: string;
  offerId: string;
  customerId: number;
  customerEmail: string;
  /** absent when the subscription has no payment details any more */
  paymentDetailsId?: number;
  /** whether the payment details are still active (used for recurring); false without details */
  active: boolean;
  dunningAttemptDate: string;
  dunningStatus: 'authorize' | 'capture';
  expirationDate: string;
  currency: string;
  paymentCountry: string;
  paymentMethodId: number;
  /** the recurring token of the payment details; absent without details */
  token?: string;
}

/** capture with `paymentId`: capture that authorised payment (authorise-first); without: capture-only. */
export type CaptureRenewalData = RenewalData & { paymentId?: number };

export interface TerminationData {
  subscriptionId: string;
  customerId: number;
  offerId: string;
  paymentMethodId: number;
}

export interface PaymentDetailsDeactivatedData {
  paymentDetailsId: number;
  customerId: number;
  paymentMethodId: number;
}

export interface RefundPaymentData {
  paymentId: number;
  externalPaymentId?: string;
  orderId: number;
  amount: number;
  currency: string;
  customerId: number;
  paymentMethodId: number;
  reason?: string;
}

export interface CapturePaymentData {
  paymentId: number;
  externalPaymentId?: string;
  orderId: number;
  amount: number;
  currency: string;
  paymentMethodId: number;
}

export interface CleengWebhookDataByTopic {
  subscriptionReadyForPaymentAuthorisation: RenewalData;
  subscriptionReadyForPaymentCapture: CaptureRenewalData;
  subscriptionReadyForTermination: TerminationData;
  paymentDetailsDeactivated: PaymentDetailsDeactivatedData;
  refundPayment: RefundPaymentData;
  capturePayment: CapturePaymentData;
}

export interface CleengWebhookBody<T = unknown> {
  broadcasterId: number;
  topic: string;
  data: T;
}

export function webhookBody<K extends CleengWebhookTopic>(
  topic: K,
  data: CleengWebhookDataByTopic[K],
): CleengWebhookBody<CleengWebhookDataByTopic[K]> {
  return { broadcasterId: SANDBOX_BROADCASTER_ID, topic, data };
}

/** The emulator stores no e-mail addresses; a stable, undeliverable one per customer. */
export function sandboxCustomerEmail(customerId: number): string {
  return `customer-${customerId}@sandbox.invalid`;
}

export interface RenewalContext {
  subscription: SubscriptionRecord;
  /** the subscription's current payment details, if it has any */
  paymentDetails: PaymentDetailsRecord | undefined;
  /** due date + the attempt's offset */
  attemptDate: Date;
}

function renewalData(ctx: RenewalContext, dunningStatus: RenewalData['dunningStatus']): RenewalData {
  const { subscription, paymentDetails } = ctx;
  return {
    subscriptionId: String(subscription.subscriptionId),
    offerId: subscription.offerId,
    customerId: subscription.customerId,
    customerEmail: sandboxCustomerEmail(subscription.customerId),
    ...(paymentDetails ? { paymentDetailsId: paymentDetails.id } : {}),
    active: paymentDetails?.active ?? false,
    dunningAttemptDate: ctx.attemptDate.toISOString(),
    dunningStatus,
    expirationDate: subscription.expiresAt.toISOString(),
    currency: findOffer(subscription.offerId)?.currency ?? 'USD',
    paymentCountry: subscription.paymentCountry,
    paymentMethodId: paymentDetails?.paymentMethodId ?? subscription.paymentMethodId,
    ...(paymentDetails ? { token: paymentDetails.token } : {}),
  };
}

export function authorisationData(ctx: RenewalContext): RenewalData {
  return renewalData(ctx, 'authorize');
}

export function captureData(ctx: RenewalContext, authorisedPaymentId?: number): CaptureRenewalData {
  return {
    ...renewalData(ctx, 'capture'),
    ...(authorisedPaymentId !== undefined ? { paymentId: authorisedPaymentId } : {}),
  };
}

export function terminationData(subscription: SubscriptionRecord): TerminationData {
  return {
    subscriptionId: String(subscription.subscriptionId),
    customerId: subscription.customerId,
    offerId: subscription.offerId,
    paymentMethodId: subscription.paymentMethodId,
  };
}

export function paymentDetailsDeactivatedData(details: {
  paymentDetailsId: number;
  customerId: number;
  paymentMethodId: number;
}): PaymentDetailsDeactivatedData {
  return {
    paymentDetailsId: details.paymentDetailsId,
    customerId: details.customerId,
    paymentMethodId: details.paymentMethodId,
  };
}

export function refundPaymentData(payment: PaymentRecord, amount: Money, reason?: string): RefundPaymentData {
  return {
    paymentId: payment.id,
    ...(payment.externalPaymentId !== null ? { externalPaymentId: payment.externalPaymentId } : {}),
    orderId: payment.orderId,
    amount: amount.toMajorNumber(),
    currency: amount.currency,
    customerId: payment.customerId,
    paymentMethodId: payment.paymentMethodId,
    ...(reason !== undefined ? { reason } : {}),
  };
}

export function capturePaymentData(payment: PaymentRecord): CapturePaymentData {
  return {
    paymentId: payment.id,
    ...(payment.externalPaymentId !== null ? { externalPaymentId: payment.externalPaymentId } : {}),
    orderId: payment.orderId,
    amount: payment.amount.toMajorNumber(),
    currency: payment.amount.currency,
    paymentMethodId: payment.paymentMethodId,
  };
}
