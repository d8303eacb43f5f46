/**
 * Smart Glocal session API wire shapes (developer.smart-glocal.com, external-apis.md §4). Only what the
 * connector sends or reads; every answer and webhook may carry more fields, which are ignored.
 */

export interface SgAmountDetails {
  /** minor units ("To send 100 USD, specify 10000") */
  amount: number;
  /** lower case, as Smart Glocal writes it (`usd`) */
  currency: string;
}

export interface SgBankCard {
  number: string;
  expiration_month: string;
  expiration_year: string;
  security_code: string;
  holder_name?: string;
}

export type SgPaymentDetails =
  | { type: 'card'; card: { type: 'bank_card'; bank_card: SgBankCard } }
  | { type: 'recurrent'; recurrent: { token: string; initiator: 'client' | 'merchant' } };

/** What we echo through `metadata` (returned in answers and webhooks): our own ids. */
export interface SgMetadata {
  connector_reference?: string;
  connector_attempt?: string;
  connector_subscription?: string;
}

export interface SgInitPaymentRequest {
  payment_details: SgPaymentDetails;
  amount_details: SgAmountDetails;
  customer: { reference: string };
  payment_options?: { recurrent?: boolean; return_url?: string };
  metadata?: SgMetadata;
}

export interface SgSessionRequest {
  session_id: string;
}

export interface SgRefundRequest extends SgSessionRequest {
  amount_details?: SgAmountDetails;
  metadata?: { connector_refund?: string };
}

export interface SgRedirect {
  url: string;
  base_url?: string;
  method?: string;
  qs?: Record<string, string>;
  params?: Record<string, string>;
}

export interface SgRefund {
  id: string;
  status: string;
  amount_details?: SgAmountDetails;
  metadata?: { connector_refund?: string };
}

export interface SgAcquiringPayment {
  id: string;
  /** in_progress, pending, succeeded, failed */
  status: string;
  payment_details?: {
    type?: string;
    card?: {
      brand?: string;
      last4?: string;
      expiration_month?: string;
      expiration_year?: string;
      holder_name?: string;
    };
  };
  amount_details?: SgAmountDetails;
  recurrent?: { token?: string; is_active?: boolean };
  customer_interaction?: { type?: string; redirect?: SgRedirect };
  refunds?: SgRefund[];
  /** why a payment failed (the code catalogue is not public: unknown codes are PAY_DEC) */
  error?: SgError;
}

export interface SgSession {
  id: string;
  /** created, in_progress, accepted, canceled (also spelled cancelled) */
  status: string;
  next_action?: string;
  acquiring_payments?: SgAcquiringPayment[];
  metadata?: SgMetadata;
}

export interface SgError {
  code?: string;
  description?: string;
}

export interface SgResponse {
  status: 'ok' | 'error';
  session?: SgSession;
  error?: SgError;
}

export type SgWebhookType =
  'ready_to_confirm' | 'action_required' | 'payment_finished' | 'payment_refunded' | 'ready_to_capture';

export interface SgWebhook {
  type: string;
  session: SgSession;
}
