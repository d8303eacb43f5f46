/** Topics a payment connector subscribes to (Cleeng "payments pre-configuration"). Payloads: DESIGN.md §10. */
export const CLEENG_TOPICS = [
  'subscriptionReadyForPaymentAuthorisation',
  'subscriptionReadyForPaymentCapture',
  'subscriptionReadyForTermination',
  'paymentDetailsDeactivated',
  'refundPayment',
  'capturePayment',
] as const;

/** `subscriptionReadyForPaymentAuthorisation` / `…Capture`: a renewal is due. */
export interface RenewalDueData {
  subscriptionId: string | number;
  offerId: string;
  customerId: string | number;
  customerEmail?: string;
  paymentDetailsId?: string | number;
  currency: string;
  paymentCountry: string;
  paymentMethodId: number;
  token?: string;
  dunningAttemptDate?: string;
  expirationDate?: string;
  /** capture: the authorised payment to capture (authorise-first dunning); absent = capture-only */
  paymentId?: string | number;
}

export interface TerminationData {
  subscriptionId: string | number;
  customerId?: string | number;
  offerId?: string;
  paymentMethodId?: number;
}

export interface PaymentDetailsDeactivatedData {
  paymentDetailsId: string | number;
  customerId?: string | number;
  paymentMethodId?: number;
}

export interface RefundPaymentData {
  paymentId: string | number;
  externalPaymentId?: string;
  orderId?: string | number;
  /** major units */
  amount?: number | string;
  currency?: string;
  customerId?: string | number;
  paymentMethodId?: number;
  reason?: string;
}

export interface CapturePaymentData {
  paymentId: string | number;
  externalPaymentId?: string;
  orderId?: string | number;
  amount?: number | string;
  currency?: string;
  paymentMethodId?: number;
}
