import type { PurchaseEntity } from './purchase.entity';

export interface PurchaseView {
  id: string;
  status: string;
  /** Cleverbridge purchase id */
  purchaseId?: string;
  /** Cleverbridge subscription the purchase created (a subscription product bought by a known customer) */
  subscriptionId?: string;
  /** where the customer completes the order (unknown customer, missing or declined payment details) */
  checkoutUrl?: string;
  checkoutExpiresAt?: string;
  decline?: { code: string; class: string; reason: string; rawCode?: string };
  /** Cleverbridge retries the declined payment itself (IsPaymentRetryScheduled) */
  retryScheduled?: boolean;
  total?: { value: number; currency: string };
  refunded?: { value: number; currency: string };
  createdAt: string;
  updatedAt: string;
}

export function toPurchaseView(p: PurchaseEntity): PurchaseView {
  return {
    id: p.id,
    status: p.status,
    ...(p.externalPurchaseId ? { purchaseId: p.externalPurchaseId } : {}),
    ...(p.externalSubscriptionId ? { subscriptionId: p.externalSubscriptionId } : {}),
    ...(p.checkoutUrl ? { checkoutUrl: p.checkoutUrl } : {}),
    ...(p.checkoutExpiresAt ? { checkoutExpiresAt: p.checkoutExpiresAt.toISOString() } : {}),
    ...(p.decline
      ? {
          decline: {
            code: p.decline.code,
            class: p.decline.class,
            reason: p.decline.reason,
            ...(p.decline.rawCode ? { rawCode: p.decline.rawCode } : {}),
          },
        }
      : {}),
    ...(p.retryScheduled ? { retryScheduled: true } : {}),
    ...(p.totalMinor !== null && p.currency ? { total: { value: p.totalMinor, currency: p.currency } } : {}),
    ...(p.refundedMinor > 0 && p.currency
      ? { refunded: { value: p.refundedMinor, currency: p.currency } }
      : {}),
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}
