import { Money } from '../shared/money';

export const PAYMENT_OPERATIONS = [
  'initial-payment',
  'initial-free-transaction',
  'recurring-payment',
] as const;
export type PaymentOperation = (typeof PAYMENT_OPERATIONS)[number];

export type PaymentStatus = 'authorized' | 'captured' | 'rejected' | 'cancelled' | 'refunded';
/** Statuses a payment can be created with (`POST /payments`). */
export type NewPaymentStatus = Extract<PaymentStatus, 'authorized' | 'captured' | 'rejected' | 'cancelled'>;

export const REFUND_TYPES = ['refund', 'chargeback'] as const;
export type RefundType = (typeof REFUND_TYPES)[number];

export const SUBSCRIPTION_STATUSES = ['active', 'stopped', 'terminated'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

export const TERMINATION_TYPES = [
  'paymentCancel',
  'userCancel',
  'publisherCancel',
  'policyViolation',
] as const;
export type TerminationType = (typeof TERMINATION_TYPES)[number];

export type NextPaymentAction = 'capture' | 'authorise';

/** Legal payment moves; `refunded -> refunded` is a further partial refund. */
export const PAYMENT_TRANSITIONS: Record<PaymentStatus, readonly PaymentStatus[]> = {
  authorized: ['captured', 'rejected', 'cancelled'],
  // rejected: a capture that failed at the gateway after it was reported (connector checklist: payment id updates)
  captured: ['refunded', 'rejected'],
  refunded: ['refunded'],
  rejected: [],
  cancelled: [],
};

export const SUBSCRIPTION_TRANSITIONS: Record<SubscriptionStatus, readonly SubscriptionStatus[]> = {
  active: ['stopped', 'terminated'],
  stopped: ['active', 'terminated'],
  terminated: [],
};

/** A Cleeng-style failure: the HTTP status and the `message` of `{success:false, message}`. */
export type FailureStatus = 400 | 404 | 409 | 422;
export type Outcome<T> = { ok: true; value: T } | { ok: false; status: FailureStatus; message: string };

export function succeed<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

export function fail<T = never>(status: FailureStatus, message: string): Outcome<T> {
  return { ok: false, status, message };
}

export type OrderDiscount =
  { type: 'trial'; trialDays: number } | { type: 'coupon'; couponCode: string; percentOff: number };

export interface OrderRecord {
  id: number;
  customerId: number;
  offerId: string;
  currency: string;
  country: string;
  paymentMethodId: number;
  offerPrice: Money;
  total: Money;
  discount?: OrderDiscount;
  paymentOperation?: 'recurring-payment';
  subscriptionId?: number;
  createdAt: Date;
  expiresAt: Date;
}

export interface RefundRecord {
  amount: Money;
  reason: string;
  type: RefundType;
  at: Date;
}

export interface PaymentRecord {
  id: number;
  /** 0: an externally managed payment (no order) */
  orderId: number;
  customerId: number;
  offerId: string;
  paymentMethodId: number;
  country: string;
  amount: Money;
  status: PaymentStatus;
  paymentOperation: PaymentOperation;
  externalPaymentId: string | null;
  paymentDetailsId: number | null;
  rejectedReason: string | null;
  refundedReason: string | null;
  refundType: RefundType | null;
  refunds: RefundRecord[];
  subscriptionId: number | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Gateway card metadata (`holderName`, `lastCardFourDigits`, `variant`, `cardExpirationDate`, ...). */
export type PaymentMethodSpecificParams = Record<string, string>;

export interface PaymentDetailsRecord {
  id: number;
  customerId: number;
  token: string;
  paymentMethodId: number;
  paymentMethodSpecificParams: PaymentMethodSpecificParams;
  active: boolean;
  createdAt: Date;
}

export interface SubscriptionRecord {
  subscriptionId: number;
  customerId: number;
  offerId: string;
  status: SubscriptionStatus;
  paymentDetailsId: number | null;
  paymentMethodId: number;
  paymentCountry: string;
  inTrial: boolean;
  couponCode: string | null;
  dateFrom: Date;
  expiresAt: Date;
  nextPaymentAction: NextPaymentAction;
  completedCycles: number;
  latestPaymentExternalId: string | null;
  externalProperties: Record<string, unknown>;
  terminationType: TerminationType | null;
  /** created by an externally managed payment: its schedule runs elsewhere, Cleeng sends no renewal events */
  externallyManaged: boolean;
  createdAt: Date;
  updatedAt: Date;
}

// ---- parsed request bodies ----

export interface CreateOrderInput {
  customerId: number;
  offerId: string;
  currency: string;
  country: string;
  paymentMethodId: number;
  couponCode?: string;
  /** Only as a pair with subscriptionId. */
  recurring?: { paymentOperation: 'recurring-payment'; subscriptionId: number };
}

export interface InlinePaymentDetailsInput {
  token: string;
  paymentMethodSpecificParams: PaymentMethodSpecificParams;
}

export interface CreatePaymentInput {
  orderId: number;
  status: NewPaymentStatus;
  paymentOperation: PaymentOperation;
  externalPaymentId?: string;
  paymentDetails?: InlinePaymentDetailsInput;
  paymentDetailsId?: number;
  rejectedReason?: string;
  subscriptionId?: number;
}

interface UpdatePaymentCommon {
  orderId?: number;
  paymentOperation?: PaymentOperation;
  externalPaymentId?: string;
}

export type UpdatePaymentInput =
  | (UpdatePaymentCommon & { status: 'captured' })
  | (UpdatePaymentCommon & { status: 'rejected'; rejectedReason: string })
  | (UpdatePaymentCommon & {
      status: 'refunded';
      /** required for a payment of an order; an externally managed payment has none */
      orderId?: number;
      paymentOperation: PaymentOperation;
      refundedReason: string;
      /** Major units as sent; converted with the payment's currency exponent. Absent = the rest. */
      refundedAmount?: number | string;
      refundType: RefundType;
    });

export interface CreatePaymentDetailsInput {
  customerId: number;
  token: string;
  paymentMethodId: number;
  paymentMethodSpecificParams: PaymentMethodSpecificParams;
  active: boolean;
}

/** Cleeng allows exactly one change per PATCH /subscriptions/{id}. */
export type UpdateSubscriptionInput =
  | { field: 'status'; status: SubscriptionStatus }
  | { field: 'paymentDetailsId'; paymentDetailsId: number }
  | { field: 'expiresAt'; expiresAt: Date }
  | { field: 'inTrial'; inTrial: boolean }
  | { field: 'couponCode'; couponCode: string }
  | { field: 'externalProperties'; externalProperties: Record<string, unknown> };

/**
 * What the emulator announces when its state changes on its own account (not as the direct answer
 * to a call). Webhook delivery subscribes here; see CleengSandboxStore.onEvent.
 */
export type CleengSandboxEvent = {
  type: 'paymentDetailsDeactivated';
  paymentDetailsId: number;
  customerId: number;
  paymentMethodId: number;
};

export interface RequestLogEntry {
  method: string;
  path: string;
  status: number;
  idempotencyKey?: string;
  /** True when the answer was the stored first response to this Idempotency-Key. */
  replayed?: boolean;
  at: string;
}
