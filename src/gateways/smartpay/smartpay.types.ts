/**
 * SmartPay (J.P. Morgan Mobility Payment Solutions) Subscription Module wire shapes. Request fields are the
 * documented ones (external-apis.md §5); where the docs are silent (responses, lists, PS transactions,
 * notification `data`) the shapes are DESIGN §10's assumptions, kept here and in smartpay.mapper.ts only.
 * Amounts on the wire are decimal major units (`recurrentAmount` is "Double 18.2").
 */

export type SmartPayBillingUnit = 'day' | 'month' | 'year';

export interface SmartPayPlanRequest {
  name: string;
  description: string;
  recurrentAmount: number;
  currencyIsoCode: string;
  billingOccurrence: number;
  billingUnit: SmartPayBillingUnit;
  /** -1: unlimited */
  billingCycles: number;
  prepaid: boolean;
  merchantMetadata?: string;
}

export interface SmartPayPlan extends SmartPayPlanRequest {
  id: string;
}

export interface SmartPayAddress {
  addressLine1: string;
  addressLine2?: string;
  number?: string;
  city: string;
  postCode: string;
  countryCode: string;
  state?: string;
}

export interface SmartPayConsumer {
  firstName?: string;
  lastName?: string;
  email?: string;
}

export interface SmartPaySubscriptionRequest {
  planId: string;
  customerAccountId: string;
  startDate: string;
  externalMerchantId?: string;
  merchantMetadata?: string;
  billingAddress: SmartPayAddress;
  consumer: SmartPayConsumer;
}

export type SmartPaySubscriptionStatus = 'pending' | 'active' | 'paused' | 'cancelled' | 'expired';

export interface SmartPaySubscription {
  id: string;
  planId: string;
  customerAccountId: string;
  /** SmartPaySubscriptionStatus, or a status the docs do not list */
  status: string;
  externalMerchantId?: string;
  startDate?: string;
}

export interface SmartPayList<T> {
  data: T[];
}

export interface SmartPayTransactionRequest {
  amount: number;
  currencyIsoCode: string;
  /** "enables SmartPay to block cases of double processing": our idempotency key */
  partnerReference: string;
  description?: string;
}

export interface SmartPayTransaction {
  id: string;
  /** succeeded | failed | pending */
  status: string;
  resultCode?: string;
  resultMessage?: string;
}

export interface SmartPayErrorBody {
  code?: string;
  message?: string;
  error?: string;
}

/** Subscription Module notification (documented envelope; `data` as DESIGN §10 assumes it). */
export interface SmartPayNotification {
  id: string;
  createdAt: string;
  sourceSystem: string;
  /** api | widget | automated */
  origin: string;
  eventType: string;
  objectId: string;
  data?: {
    subscriptionId?: string;
    paymentSeriesId?: string;
    billingCycleId?: string;
    amount?: number;
    currencyIsoCode?: string;
    status?: string;
    transactionId?: string;
    resultCode?: string;
    resultMessage?: string;
    partnerReference?: string;
  };
}
