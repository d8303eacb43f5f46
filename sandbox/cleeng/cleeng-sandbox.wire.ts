import { Money } from '../shared/money';
import { BillingPeriod } from './cleeng-sandbox.offers';
import {
  NextPaymentAction,
  OrderDiscount,
  OrderRecord,
  Outcome,
  PaymentDetailsRecord,
  PaymentMethodSpecificParams,
  PaymentOperation,
  PaymentRecord,
  PaymentStatus,
  RefundType,
  SubscriptionRecord,
  SubscriptionStatus,
  TerminationType,
} from './cleeng-sandbox.types';

/** Cleeng 3.1 JSON as the emulator sends it (DESIGN §10): money in major units as JSON numbers. */

export interface WireOrder {
  id: number;
  customerId: number;
  offerId: string;
  totalPrice: number;
  currency: string;
  country: string;
  paymentMethodId: number;
  expirationDate: string;
  priceBreakdown: {
    offerPrice: number;
    discountAmount: number;
    taxValue: number;
    customerServiceFee: number;
    paymentMethodFee: number;
  };
  discount?: OrderDiscount;
  paymentOperation?: 'recurring-payment';
  subscriptionId?: number;
}

export interface WirePayment {
  id: number;
  /** null: an externally managed payment */
  orderId: number | null;
  status: PaymentStatus;
  totalAmount: number;
  amount: number;
  currency: string;
  customerId: number;
  offerId: string;
  country: string;
  paymentMethodId: number;
  paymentGateway: string;
  externalPaymentId: string | null;
  paymentDetailsId: number | null;
  paymentOperation: PaymentOperation;
  rejectedReason: string | null;
  refundedReason: string | null;
  refundedAmount: number;
  refundType: RefundType | null;
  /** inspection only (`/sandbox/cleeng/state`): Cleeng's PaymentResource does not name the subscription */
  subscriptionId?: number;
}

export interface WirePaymentDetails {
  id: number;
  customerId: number;
  token: string;
  paymentGateway: string;
  paymentMethod: string;
  paymentMethodSpecificParams: PaymentMethodSpecificParams;
  paymentMethodId: number;
  active: boolean;
  bound: boolean;
  subscriptionIds: number[];
}

export interface WireSubscription {
  subscriptionId: number;
  customerId: number;
  offerId: string;
  status: SubscriptionStatus;
  paymentDetailsId: number | null;
  paymentMethodId: number;
  paymentCountry: string;
  inTrial: boolean;
  couponCode: string | null;
  nextPaymentAction: NextPaymentAction;
  /** Unix seconds, as in Cleeng's SubscriptionResource. */
  nextPaymentActionDate: number;
  dateFrom: number;
  dateTo: number;
  /** The same instant as dateTo, ISO 8601. */
  expiresAt: string;
  renewalCycle: { completed: number; unit: BillingPeriod['unit']; amount: number };
  latestPaymentExternalId: string | null;
  externalProperties: Record<string, unknown>;
  isExternallyManaged: boolean;
  terminationType: TerminationType | null;
}

export type CleengBody = { success: boolean; message?: string } & Record<string, unknown>;

export interface CleengResponse {
  status: number;
  body: CleengBody;
}

function major(money: Money): number {
  return money.toMajorNumber();
}

function unixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

export function toWireOrder(order: OrderRecord): WireOrder {
  const zero = major(Money.zero(order.currency));
  return {
    id: order.id,
    customerId: order.customerId,
    offerId: order.offerId,
    totalPrice: major(order.total),
    currency: order.currency,
    country: order.country,
    paymentMethodId: order.paymentMethodId,
    expirationDate: order.expiresAt.toISOString(),
    priceBreakdown: {
      offerPrice: major(order.offerPrice),
      discountAmount: major(order.offerPrice.subtract(order.total)),
      // Offer prices are tax-inclusive and the sandbox charges no fees.
      taxValue: zero,
      customerServiceFee: zero,
      paymentMethodFee: zero,
    },
    ...(order.discount ? { discount: { ...order.discount } } : {}),
    ...(order.paymentOperation ? { paymentOperation: order.paymentOperation } : {}),
    ...(order.subscriptionId !== undefined ? { subscriptionId: order.subscriptionId } : {}),
  };
}

export function refundedTotal(payment: PaymentRecord): Money {
  return payment.refunds.reduce((sum, refund) => sum.add(refund.amount), Money.zero(payment.amount.currency));
}

export function toWirePayment(payment: PaymentRecord, paymentGateway: string): WirePayment {
  return {
    id: payment.id,
    orderId: payment.orderId === 0 ? null : payment.orderId,
    status: payment.status,
    totalAmount: major(payment.amount),
    amount: major(payment.amount),
    currency: payment.amount.currency,
    customerId: payment.customerId,
    offerId: payment.offerId,
    country: payment.country,
    paymentMethodId: payment.paymentMethodId,
    paymentGateway,
    externalPaymentId: payment.externalPaymentId,
    paymentDetailsId: payment.paymentDetailsId,
    paymentOperation: payment.paymentOperation,
    rejectedReason: payment.rejectedReason,
    refundedReason: payment.refundedReason,
    refundedAmount: major(refundedTotal(payment)),
    refundType: payment.refundType,
    ...(payment.subscriptionId !== null ? { subscriptionId: payment.subscriptionId } : {}),
  };
}

/** The payment as Cleeng's API answers it: PaymentResource has no subscription id. */
export function apiPayment(payment: WirePayment): WirePayment {
  const { subscriptionId: _omitted, ...rest } = payment;
  return rest;
}

export function toWirePaymentDetails(
  details: PaymentDetailsRecord,
  paymentGateway: string,
  subscriptionIds: number[],
): WirePaymentDetails {
  return {
    id: details.id,
    customerId: details.customerId,
    token: details.token,
    paymentGateway,
    paymentMethod: 'card',
    paymentMethodSpecificParams: { ...details.paymentMethodSpecificParams },
    paymentMethodId: details.paymentMethodId,
    active: details.active,
    // bound = recurring handled outside Cleeng; the emulator models Cleeng-managed billing only.
    bound: false,
    subscriptionIds,
  };
}

export function toWireSubscription(
  subscription: SubscriptionRecord,
  period: BillingPeriod,
): WireSubscription {
  return {
    subscriptionId: subscription.subscriptionId,
    customerId: subscription.customerId,
    offerId: subscription.offerId,
    status: subscription.status,
    paymentDetailsId: subscription.paymentDetailsId,
    paymentMethodId: subscription.paymentMethodId,
    paymentCountry: subscription.paymentCountry,
    inTrial: subscription.inTrial,
    couponCode: subscription.couponCode,
    nextPaymentAction: subscription.nextPaymentAction,
    nextPaymentActionDate: unixSeconds(subscription.expiresAt),
    dateFrom: unixSeconds(subscription.dateFrom),
    dateTo: unixSeconds(subscription.expiresAt),
    expiresAt: subscription.expiresAt.toISOString(),
    renewalCycle: { completed: subscription.completedCycles, unit: period.unit, amount: period.amount },
    latestPaymentExternalId: subscription.latestPaymentExternalId,
    externalProperties: { ...subscription.externalProperties },
    isExternallyManaged: subscription.externallyManaged,
    terminationType: subscription.terminationType,
  };
}

/** `{success:true, <key>: value}` with 200, or Cleeng's `{success:false, message}` with the failure status. */
export function envelope<T>(
  outcome: Outcome<T>,
  key: string,
  extra: { message?: string; nullOnFailure?: boolean } = {},
): CleengResponse {
  if (!outcome.ok) {
    return {
      status: outcome.status,
      body: { success: false, ...(extra.nullOnFailure ? { [key]: null } : {}), message: outcome.message },
    };
  }
  return {
    status: 200,
    body: { success: true, ...(extra.message ? { message: extra.message } : {}), [key]: outcome.value },
  };
}

export function failure(status: number, message: string): CleengResponse {
  return { status, body: { success: false, message } };
}
