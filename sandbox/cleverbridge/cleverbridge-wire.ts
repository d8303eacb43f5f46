/**
 * The Cleverbridge wire shapes this emulator answers with and sends: the ProcessCart response, the error
 * body and the JSON notifications (DESIGN §10 for what the vendor documents leave open). Written here from
 * the vendor contract, not imported from the connector, so the connector's mapper is tested against an
 * independent statement of the wire.
 */

/** The x-parameter keys the connector sends (its attempt id and, for rebills, the period start). */
export const X_ATTEMPT = 'x-connector-attempt';
export const X_PERIOD = 'x-connector-period';

export interface CleverbridgeExtraParameter {
  key: string;
  value: string;
}

export interface CleverbridgeExtraParameters {
  extraParameter: CleverbridgeExtraParameter[];
}

export type CleverbridgeProcessCartStatus =
  'Paid' | 'WaitingForOfflinePayment' | 'Pending' | 'CustomerActionNeeded';

/** A Cleverbridge payment error: PAY_CEX, PAY_CLE, PAY_DEC, PAY_REJ, FRA_REJ, PAY_SCO, CCA_EXP (seed). */
export interface CleverbridgePaymentError {
  code: string;
  message?: string;
}

/** 200 response; `subscriptionId` is set when the purchase created a new subscription. */
export interface CleverbridgeProcessCartResponse {
  status: CleverbridgeProcessCartStatus;
  purchaseId?: string;
  url?: string;
  paymentResult?: CleverbridgePaymentError;
  isPaymentRetryScheduled?: boolean;
  subscriptionId?: string;
  error?: CleverbridgePaymentError;
}

/** `400 {status:'InvalidRequest', error}`, `500 {status:'InternalServerError'}`. */
export interface CleverbridgeErrorResponse {
  status?: string;
  error?: { code?: string; message?: string };
}

export type CleverbridgeNotificationType =
  | 'PaidOrderNotification'
  | 'NewOfflinePaymentPurchaseNotification'
  | 'RefundNotification'
  | 'PartialRefundNotification'
  | 'ChargebackNotification';

/** Money in a notification: major units (number or decimal string) with the currency. */
export interface CleverbridgeNotificationAmount {
  amount: number | string;
  currencyId: string;
}

export interface CleverbridgeRecurringBilling {
  subscriptionId: string;
  [key: string]: unknown;
}

export interface CleverbridgeNotificationItem {
  productId: string;
  productName?: string;
  quantity: number;
  unitPrice?: number | string;
  totalGross?: number | string;
  recurringBilling?: CleverbridgeRecurringBilling;
  extraParameters?: CleverbridgeExtraParameters;
}

/** JSON notification (Basic auth with the notify user), `meta.type` naming the event. */
export interface CleverbridgeNotification {
  meta: { type: string; id?: string; createdAt?: string };
  purchase?: {
    id: string;
    status?: string;
    createdAt?: string;
    paidAt?: string;
    currencyId?: string;
    totalGross?: number | string;
    customer?: { customerReferenceId?: string; logonPurchaseId?: string };
    items?: CleverbridgeNotificationItem[];
    extraParameters?: CleverbridgeExtraParameters;
  };
  recurringBilling?: CleverbridgeRecurringBilling;
  refund?: CleverbridgeNotificationAmount & { id?: string };
  chargeback?: CleverbridgeNotificationAmount & { id?: string };
}
