/**
 * Cleverbridge REST wire shapes: `POST {CLEVERBRIDGE_API_URL}/cart/processcart` and the JSON notifications.
 *
 * Sources: the Process Cart seed (shared/reference/seeds/002_*) for the request envelope, the customer ids,
 * ProcessCartMode, ExtraParameterMode, x-parameters, the status table and the payment error codes;
 * DESIGN.md §10 for everything the vendor documents leave open (response body, notification body). The
 * sandbox emulator (sandbox/cleverbridge, its own copy) speaks exactly these shapes. Every assumption is marked
 * ASSUMED so it can be corrected here and in cleverbridge.mapper.ts only.
 */

/**
 * One x-parameter. The seed's example repeats an `extraParameter` key inside one object (an XML-to-JSON
 * artefact that is not valid JSON); we send the repeated element as an array under the same name.
 */
export interface CleverbridgeExtraParameter {
  key: string;
  value: string;
}

export interface CleverbridgeExtraParameters {
  extraParameter: CleverbridgeExtraParameter[];
}

/**
 * ASSUMED: the dynamic price of one unit, in major units (Cleverbridge prices are decimals, as in its checkout
 * `dp` parameter `__PRICE:<amount>:<currency>`), with Cleverbridge's `...CurrencyId` naming.
 */
export interface CleverbridgeDynamicPrice {
  amount: number;
  currencyId: string;
}

/** A cart line. The seed lists: product id, quantity, additional name, dynamic product name, dynamic price. */
export interface CleverbridgeCartItem {
  productId: string;
  quantity: number;
  additionalName?: string;
  dynamicProductName?: string;
  dynamicPrice?: CleverbridgeDynamicPrice;
  /** item-level x-parameters (the seed: "on both the shopping cart and individual cart item levels") */
  extraParameters?: CleverbridgeExtraParameters;
}

/** The cart; a known customer is identified inside it by LogonPurchaseId or CustomerReferenceId. */
export interface CleverbridgeCart {
  items: CleverbridgeCartItem[];
  logonPurchaseId?: string;
  customerReferenceId?: string;
}

/**
 * The seed names the modes (Interactive (default) / Non-Interactive; Default / PurchaseOnly / SubscriptionOnly);
 * Cleverbridge's reference says JSON requests may use integers (ExtraParameterMode 0/1/2, ProcessCartMode 0 =
 * the default). We send the names; the sandbox accepts names and integers.
 */
export type CleverbridgeProcessCartMode = 'Interactive' | 'NonInteractive';
export type CleverbridgeExtraParameterMode = 'Default' | 'PurchaseOnly' | 'SubscriptionOnly';

export interface CleverbridgeProcessCartRequestBody {
  cart: CleverbridgeCart;
  defaultCountryId?: string;
  defaultLanguageId?: string;
  /** cart-level x-parameters (the seed puts `extraParameters` beside `cart`) */
  extraParameters?: CleverbridgeExtraParameters;
  extraParameterMode?: CleverbridgeExtraParameterMode;
  processCartMode?: CleverbridgeProcessCartMode;
  /** rebilling: ALWAYS the Cleverbridge subscription id, or Cleverbridge creates a new subscription */
  subscription?: { subscriptionId: string };
}

export interface CleverbridgeProcessCartRequest {
  processCartRequest: CleverbridgeProcessCartRequestBody;
}

/** The seed's 200 statuses. */
export type CleverbridgeProcessCartStatus =
  'Paid' | 'WaitingForOfflinePayment' | 'Pending' | 'CustomerActionNeeded';

/** A Cleverbridge payment error: PAY_CEX, PAY_CLE, PAY_DEC, PAY_REJ, FRA_REJ, PAY_SCO, CCA_EXP (seed). */
export interface CleverbridgePaymentError {
  code: string;
  message?: string;
}

/**
 * ASSUMED (DESIGN §10) 200 response. `subscriptionId` is our addition: set when the purchase created a new
 * subscription (the seed only promises it in the PaidOrderNotification).
 */
export interface CleverbridgeProcessCartResponse {
  status: CleverbridgeProcessCartStatus;
  purchaseId?: string;
  /** Pending: page to change the payment details; CustomerActionNeeded: session URL valid 72 h */
  url?: string;
  paymentResult?: CleverbridgePaymentError;
  isPaymentRetryScheduled?: boolean;
  subscriptionId?: string;
  /** the seed's "sample payment provider error" uses `error`; read as a fallback for `paymentResult` */
  error?: CleverbridgePaymentError;
}

/** ASSUMED (DESIGN §10): `400 {status:'InvalidRequest', error}`, `500 {status:'InternalServerError'}`. */
export interface CleverbridgeErrorResponse {
  status?: string;
  error?: { code?: string; message?: string };
}

/**
 * Notification types we act on (Cleverbridge notification guide: the type is `meta.type` in the JSON body).
 * Others (registration, subscription events, ...) are acknowledged and ignored.
 */
export const CLEVERBRIDGE_NOTIFICATION_TYPES = [
  'PaidOrderNotification',
  'NewOfflinePaymentPurchaseNotification',
  'RefundNotification',
  'PartialRefundNotification',
  'ChargebackNotification',
] as const;
export type CleverbridgeNotificationType = (typeof CLEVERBRIDGE_NOTIFICATION_TYPES)[number];

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

/**
 * ASSUMED notification body (DESIGN §10; the seed shows only `{"recurringBilling": {"subscriptionId":
 * "S9073119", ...}}`). Authenticated with HTTP Basic auth (CLEVERBRIDGE_NOTIFY_USERNAME/PASSWORD).
 *
 * ```json
 * {
 *   "meta": { "type": "PaidOrderNotification", "id": "N-...", "createdAt": "2025-01-31T10:00:00.000Z" },
 *   "purchase": {
 *     "id": "500000001", "status": "Paid", "createdAt": "...", "paidAt": "...",
 *     "currencyId": "USD", "totalGross": 9.99,
 *     "customer": { "customerReferenceId": "cust-1" },
 *     "items": [{ "productId": "100001", "quantity": 1, "unitPrice": 9.99, "totalGross": 9.99,
 *                 "recurringBilling": { "subscriptionId": "S9000001" } }],
 *     "extraParameters": { "extraParameter": [{ "key": "x-connector-attempt", "value": "att_1" }] }
 *   },
 *   "recurringBilling": { "subscriptionId": "S9000001", "status": "HandledByClient" },
 *   "refund": { "id": "R-1", "amount": 4.99, "currencyId": "USD" }       // Refund / PartialRefund only
 *   "chargeback": { "id": "C-1", "amount": 9.99, "currencyId": "USD" }   // Chargeback only
 * }
 * ```
 */
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

/**
 * One purchase of `GET /purchase/getpurchaselist` (Purchase API). The vendor names purchaseId, status/statusId,
 * creationTime, paymentArriveTime, lastModificationTime and customerReferenceNumber; the x-parameters, payment
 * result and retry flag are assumed to follow the ProcessCart and notification shapes (DESIGN §10).
 */
export interface CleverbridgePurchaseListEntry {
  purchaseId: string | number;
  status?: string;
  statusId?: number;
  creationTime?: string;
  paymentArriveTime?: string;
  lastModificationTime?: string;
  customerReferenceNumber?: string;
  subscriptionId?: string;
  paymentResult?: CleverbridgePaymentError;
  isPaymentRetryScheduled?: boolean;
  extraParameters?: CleverbridgeExtraParameters;
}

export interface CleverbridgePurchaseList {
  purchases: CleverbridgePurchaseListEntry[];
}
