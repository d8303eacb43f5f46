/** Cleeng Core API 3.1 wire shapes (DESIGN.md §10: assumed where Cleeng's docs are silent). */
export interface CleengOrder {
  id: number | string;
  customerId: number | string;
  offerId: string;
  totalPrice: number;
  currency: string;
  country: string;
  paymentMethodId: number;
  expirationDate?: string;
  priceBreakdown?: Record<string, unknown>;
}

export interface CreateOrderRequest {
  customerId: number | string;
  offerId: string;
  currency: string;
  country: string;
  paymentMethodId: number;
  couponCode?: string;
  paymentOperation?: 'recurring-payment';
  subscriptionId?: string;
}

export type CleengPaymentStatus = 'captured' | 'authorized' | 'rejected' | 'cancelled' | 'refunded';

export interface PaymentMethodSpecificParams {
  holderName?: string;
  lastCardFourDigits?: string;
  variant?: string;
  cardExpirationDate?: string;
}

export interface CreatePaymentRequest {
  orderId: number | string;
  status: CleengPaymentStatus;
  paymentOperation: 'initial-payment' | 'initial-free-transaction' | 'recurring-payment';
  externalPaymentId?: string;
  paymentDetails?: { token: string; paymentMethodSpecificParams?: PaymentMethodSpecificParams };
  paymentDetailsId?: number | string;
  rejectedReason?: string;
  subscriptionId?: string;
}

export interface CleengPayment {
  id: number | string;
  orderId?: number | string | null;
  status: string;
  externalPaymentId?: string | null;
  paymentDetailsId?: number | string | null;
  /** the subscription Cleeng created or renewed with this payment */
  subscriptionId?: number | string | null;
}

/** Cleeng's numeric ids travel as numbers on the wire; we keep them as strings locally. */
export function cleengId(id: string): number | string {
  return /^\d{1,15}$/.test(id) ? Number(id) : id;
}
