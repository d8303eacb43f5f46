/** The slices of Adyen Checkout v71 we send and read (official spec: CheckoutService-v71.json). */
export interface AdyenAmount {
  value: number;
  currency: string;
}

export interface AdyenPaymentRequest {
  amount: AdyenAmount;
  merchantAccount: string;
  reference: string;
  paymentMethod: Record<string, unknown>;
  returnUrl: string;
  shopperReference: string;
  shopperInteraction: 'Ecommerce' | 'ContAuth';
  recurringProcessingModel: 'Subscription';
  storePaymentMethod?: boolean;
  captureDelayHours?: number;
  browserInfo?: Record<string, unknown>;
  shopperEmail?: string;
  shopperIP?: string;
  countryCode?: string;
  channel?: 'Web';
  additionalData?: Record<string, string>;
}

export type AdyenResultCode =
  | 'AuthenticationFinished'
  | 'AuthenticationNotRequired'
  | 'Authorised'
  | 'Cancelled'
  | 'ChallengeShopper'
  | 'Error'
  | 'IdentifyShopper'
  | 'PartiallyAuthorised'
  | 'Pending'
  | 'PresentToShopper'
  | 'Received'
  | 'RedirectShopper'
  | 'Refused'
  | 'Success';

export interface AdyenAction {
  type: string;
  url?: string;
  method?: string;
  data?: Record<string, string>;
  paymentMethodType?: string;
  [key: string]: unknown;
}

export interface AdyenPaymentResponse {
  pspReference?: string;
  resultCode?: AdyenResultCode;
  merchantReference?: string;
  refusalReason?: string;
  refusalReasonCode?: string;
  action?: AdyenAction;
  additionalData?: Record<string, string>;
  paymentMethod?: { brand?: string; type?: string };
}

export interface AdyenModificationResponse {
  pspReference?: string;
  paymentPspReference?: string;
  status?: string;
}

export interface AdyenStoredPaymentMethod {
  id?: string;
  brand?: string;
  lastFour?: string;
  expiryMonth?: string;
  expiryYear?: string;
  holderName?: string;
}

export interface AdyenServiceError {
  status?: number;
  errorCode?: string;
  message?: string;
  errorType?: string;
}
