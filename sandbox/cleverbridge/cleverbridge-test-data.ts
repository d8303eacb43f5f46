/**
 * Test data of the Cleverbridge emulator: its product catalogue and the behaviours tests can ask for.
 *
 * ## Products
 *
 * | productId | name                       | subscription product | catalogue price            |
 * |-----------|----------------------------|----------------------|----------------------------|
 * | `100001`  | Sandbox Pro (monthly)      | yes                  | 9.99 USD, 8.99 EUR, 7.99 GBP |
 * | `100002`  | Sandbox Pro (yearly)       | yes                  | 99.00 USD, 89.00 EUR       |
 * | `200001`  | Support hours (1 h)        | no                   | 25.00 USD, 23.00 EUR       |
 * | `200002`  | Game update                | no                   | 4.99 USD, 4.49 EUR         |
 *
 * Any other productId is `400 InvalidRequest` (PRODUCT_NOT_FOUND). A `dynamicPrice` replaces the catalogue
 * price (it is the unit price); without one the cart is priced in USD. A Paid purchase that was NOT made on
 * an existing subscription (customer by customerReferenceId / logonPurchaseId) and contains a subscription
 * product creates a Cleverbridge subscription (`S` + digits, status HandledByClient), returned as
 * `subscriptionId` in the response and as `recurringBilling.subscriptionId` in the notifications. A cart
 * identified by `subscription.subscriptionId` charges that subscription (unknown id: 400 SUBSCRIPTION_NOT_FOUND).
 *
 * ## Customers
 *
 * `customerReferenceId`: any value; a new one is a known customer with stored payment details (so the
 * default outcome is Paid). `logonPurchaseId`: must be a purchase id the emulator issued (else 400
 * PURCHASE_NOT_FOUND). Exactly one identifier per cart (else 400).
 *
 * ## Behaviours
 *
 * Chosen, first match wins, by: the x-parameter `x-sandbox-behaviour` on the cart (or on an item); the
 * behaviour set for the subscription (`POST /sandbox/cleverbridge/subscriptions/:id/behaviour
 * {"behaveAs": "...", "times"?: n}`, rebills and scheduled retries of that subscription); else `paid`.
 *
 * | value                     | answer                                                                          |
 * |---------------------------|---------------------------------------------------------------------------------|
 * | `paid` (default)          | 200 Paid, purchaseId (+ subscriptionId); PaidOrderNotification                  |
 * | `offline`                 | 200 WaitingForOfflinePayment, purchaseId; NewOfflinePaymentPurchaseNotification; |
 * |                           | `POST /sandbox/cleverbridge/purchases/:id/receive-payment` -> PaidOrderNotification |
 * | `decline:<CODE>`          | 200 Pending, purchaseId, url (checkout page), paymentResult {code, message},     |
 * |                           | isPaymentRetryScheduled false. CODE: PAY_CEX, PAY_CLE, PAY_DEC, PAY_REJ,         |
 * |                           | FRA_REJ, PAY_SCO, CCA_EXP, or any other `[A-Z0-9_]` code (unknown-code tests)    |
 * | `decline:<CODE>:retry`    | as above with isPaymentRetryScheduled true: a retry is due one hour later        |
 * |                           | (`POST /sandbox/cleverbridge/retries/run`). `decline:CCA_EXP` always schedules a |
 * |                           | retry (seed: the Expiration Date Checker runs and a retry follows in 1 h)        |
 * | `action-needed`           | 200 CustomerActionNeeded + url. Interactive: nothing saved, the session URL     |
 * |                           | works 72 h. Non-interactive: the purchase is saved (purchaseId) and the URL kept  |
 * | `invalid`                 | 400 {status: InvalidRequest, error: {code: INVALID_REQUEST}}                    |
 * | `error`                   | 500 {status: InternalServerError}; nothing processed, not remembered            |
 * | `latency:<ms>`            | processed as `paid`, the answer held for ms (up to 120000): client timeouts      |
 *
 * A scheduled retry is decided by the subscription's behaviour at the time it runs: a `decline:*` behaviour
 * declines again (another retry in 1 h when it says `:retry`, at most 3 retries), anything else pays.
 * `times` limits a subscription behaviour to the next n charges (rebills and retries), then it reverts to paid.
 *
 * ## Idempotency
 *
 * A ProcessCart whose cart-level `x-connector-attempt` was already answered with 200 gets that first answer
 * again; nothing is charged twice and no notification is repeated.
 */
import { Money } from '../shared/money';

export interface SandboxProduct {
  id: string;
  name: string;
  subscription: boolean;
  /** major units per currency */
  prices: Readonly<Record<string, string>>;
}

export const SANDBOX_PRODUCTS: readonly SandboxProduct[] = [
  {
    id: '100001',
    name: 'Sandbox Pro (monthly)',
    subscription: true,
    prices: { USD: '9.99', EUR: '8.99', GBP: '7.99' },
  },
  { id: '100002', name: 'Sandbox Pro (yearly)', subscription: true, prices: { USD: '99.00', EUR: '89.00' } },
  { id: '200001', name: 'Support hours (1 h)', subscription: false, prices: { USD: '25.00', EUR: '23.00' } },
  { id: '200002', name: 'Game update', subscription: false, prices: { USD: '4.99', EUR: '4.49' } },
];

export const SANDBOX_DEFAULT_CURRENCY = 'USD';

export function findProduct(productId: string): SandboxProduct | undefined {
  return SANDBOX_PRODUCTS.find((p) => p.id === productId);
}

export function catalogPrice(product: SandboxProduct, currency: string): Money | undefined {
  const major = product.prices[currency];
  return major === undefined ? undefined : Money.fromMajor(major, currency);
}

/** The x-parameter that selects a behaviour for one ProcessCart. */
export const X_SANDBOX_BEHAVIOUR = 'x-sandbox-behaviour';

/** Messages of the seed's payment error table (CCA_EXP from its IsPaymentRetryScheduled section). */
export const PAYMENT_ERROR_MESSAGES: Readonly<Record<string, string>> = {
  PAY_CEX: 'Card expired',
  PAY_CLE: 'Credit card limit exceeded',
  PAY_DEC: 'General decline',
  PAY_REJ: 'Rejected by issuing bank',
  FRA_REJ: 'Rejected for fraud',
  PAY_SCO: 'Security code validation failed',
  CCA_EXP: 'Credit card expired and could not be extended by the Account Updater',
};

export type SandboxBehaviour =
  | { kind: 'paid' }
  | { kind: 'offline' }
  | { kind: 'decline'; code: string; retry: boolean }
  | { kind: 'action-needed' }
  | { kind: 'invalid' }
  | { kind: 'error' }
  | { kind: 'latency'; ms: number };

export const MAX_LATENCY_MS = 120_000;

/** `"decline:PAY_CLE:retry"` -> behaviour; undefined when the value is not one of the table's. */
export function parseBehaviour(value: string): SandboxBehaviour | undefined {
  const parts = value.trim().split(':');
  const [kind, arg, flag] = parts;
  switch (kind) {
    case 'paid':
    case 'offline':
    case 'action-needed':
    case 'invalid':
    case 'error':
      return parts.length === 1 ? { kind } : undefined;
    case 'decline': {
      if (arg === undefined || !/^[A-Z0-9_]{1,32}$/.test(arg) || parts.length > 3) {
        return undefined;
      }
      if (flag !== undefined && flag !== 'retry') {
        return undefined;
      }
      return { kind: 'decline', code: arg, retry: flag === 'retry' || arg === 'CCA_EXP' };
    }
    case 'latency': {
      const ms = Number(arg);
      return parts.length === 2 && Number.isSafeInteger(ms) && ms >= 0 && ms <= MAX_LATENCY_MS
        ? { kind: 'latency', ms }
        : undefined;
    }
    default:
      return undefined;
  }
}

/** One hour, per the seed ("a retry is scheduled to take place one hour later"). */
export const RETRY_DELAY_MS = 60 * 60 * 1000;
/** Retries per declined purchase before the emulator gives up (Cleverbridge's own count is not documented). */
export const MAX_RETRIES = 3;
/** The seed: session URLs are valid for 72 hours. */
export const SESSION_TTL_MS = 72 * 60 * 60 * 1000;
