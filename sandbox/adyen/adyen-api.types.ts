/**
 * The subset of Adyen Checkout v71 wire shapes the emulator reads and writes. Request types describe bodies that
 * already passed AdyenSpecValidator, so only fields the emulator uses are listed.
 */

export const ADYEN_OPERATIONS = [
  '/payments',
  '/payments/details',
  '/payments/{paymentPspReference}/captures',
  '/payments/{paymentPspReference}/cancels',
  '/payments/{paymentPspReference}/refunds',
  '/payments/{paymentPspReference}/reversals',
  '/cancels',
  '/storedPaymentMethods',
] as const;
export type AdyenOperationPath = (typeof ADYEN_OPERATIONS)[number];

export interface AdyenAmount {
  value: number;
  currency: string;
}

export interface AdyenCardPaymentMethod {
  type?: string;
  number?: string;
  expiryMonth?: string;
  expiryYear?: string;
  cvc?: string;
  holderName?: string;
  encryptedCardNumber?: string;
  encryptedExpiryMonth?: string;
  encryptedExpiryYear?: string;
  encryptedSecurityCode?: string;
  storedPaymentMethodId?: string;
  /** Deprecated since v49 in favour of storedPaymentMethodId; still accepted by Adyen. */
  recurringDetailReference?: string;
}

export interface AdyenPaymentRequest {
  merchantAccount: string;
  amount: AdyenAmount;
  reference: string;
  returnUrl: string;
  paymentMethod: AdyenCardPaymentMethod;
  shopperReference?: string;
  shopperInteraction?: 'Ecommerce' | 'ContAuth' | 'Moto' | 'POS';
  recurringProcessingModel?: 'CardOnFile' | 'Subscription' | 'UnscheduledCardOnFile';
  storePaymentMethod?: boolean;
  captureDelayHours?: number;
}

/** POST /storedPaymentMethods: tokenisation without a payment. */
export interface AdyenStoredPaymentMethodRequest {
  merchantAccount: string;
  shopperReference: string;
  recurringProcessingModel: string;
  paymentMethod: AdyenCardPaymentMethod;
}

export interface AdyenPaymentDetailsRequest {
  details: { redirectResult?: string; threeDSResult?: string };
}

export interface AdyenCaptureRequest {
  merchantAccount: string;
  amount: AdyenAmount;
  reference?: string;
}

export interface AdyenRefundRequest {
  merchantAccount: string;
  amount: AdyenAmount;
  reference?: string;
  merchantRefundReason?: string;
}

export interface AdyenCancelRequest {
  merchantAccount: string;
  reference?: string;
}

export interface AdyenStandaloneCancelRequest {
  merchantAccount: string;
  paymentReference: string;
  reference?: string;
}

export type AdyenResultCode = 'Authorised' | 'Refused' | 'Error' | 'RedirectShopper';

export interface AdyenRedirectAction {
  type: 'redirect';
  method: 'GET';
  url: string;
  paymentMethodType: 'scheme';
}

export interface AdyenPaymentResponse {
  pspReference: string;
  resultCode: AdyenResultCode;
  merchantReference: string;
  amount?: AdyenAmount;
  paymentMethod?: { brand: string; type: 'scheme' };
  additionalData?: Record<string, string>;
  refusalReason?: string;
  refusalReasonCode?: string;
  action?: AdyenRedirectAction;
}

export interface AdyenModificationResponse {
  merchantAccount: string;
  pspReference: string;
  status: 'received';
  paymentPspReference?: string;
  paymentReference?: string;
  reference?: string;
  amount?: AdyenAmount;
  merchantRefundReason?: string;
}

export interface AdyenServiceError {
  status: number;
  errorCode: string;
  message: string;
  errorType: 'validation' | 'security' | 'internal' | 'configuration';
  pspReference?: string;
}

/** StoredPaymentMethodResource (response of POST /storedPaymentMethods). */
export interface AdyenStoredPaymentMethodResource {
  id: string;
  shopperReference: string;
  type: string;
  brand: string;
  lastFour: string;
  expiryMonth?: string;
  expiryYear?: string;
  holderName?: string;
  supportedRecurringProcessingModels: string[];
}

export type AdyenResponseBody =
  AdyenPaymentResponse | AdyenModificationResponse | AdyenStoredPaymentMethodResource | AdyenServiceError;

/** What an emulated endpoint answers: HTTP status + Adyen-shaped body. */
export interface AdyenApiResponse {
  status: number;
  body: AdyenResponseBody;
}

export function serviceError(
  status: number,
  errorCode: string,
  message: string,
  errorType: AdyenServiceError['errorType'] = 'validation',
  pspReference?: string,
): AdyenApiResponse {
  return {
    status,
    body: { status, errorCode, message, errorType, ...(pspReference ? { pspReference } : {}) },
  };
}
