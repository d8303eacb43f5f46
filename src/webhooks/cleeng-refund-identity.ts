import { createHash } from 'node:crypto';
import type { RefundPaymentData } from '../cleeng/cleeng-webhook.types';
import type { Money } from '../common/money/money';

/**
 * Fields that would tell two refunds of one payment apart if Cleeng sends them. Cleeng documents
 * no refundPayment payload (DESIGN §10 assumes one without any refund id), so these are read when
 * present and otherwise the identity falls back to amount and reason.
 */
const DISCRIMINATORS = ['refundId', 'refundPaymentId', 'id', 'createdAt', 'refundedAt'] as const;

/**
 * The identity of the refund a refundPayment webhook asks for, independent of how the delivery is
 * spelled (ids as numbers or strings, `2.5` or `"2.50"`, topic case, extra fields): two deliveries of
 * one refund are one refund. Two refunds of the same payment are two when Cleeng tells them apart
 * (amount, reason, or a refund id / timestamp); an identical second request with nothing to tell
 * it apart is treated as a redelivery, because refunding twice cannot be undone and a missed
 * refund can be made with POST /v1/refunds.
 */
export function cleengRefundKey(data: RefundPaymentData, amount: Money | undefined): string {
  const raw = data as unknown as Record<string, unknown>;
  const discriminator = DISCRIMINATORS.map((name) => raw[name])
    .map((value) => (typeof value === 'number' ? String(value) : value))
    .find((value): value is string => typeof value === 'string' && value.trim() !== '');
  const identity = [
    String(data.paymentId).trim(),
    amount ? `${amount.minor} ${amount.currency}` : 'remaining',
    (data.reason ?? '').trim(),
    discriminator?.trim() ?? '',
  ];
  const digest = createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 32);
  return `cleeng:refund:${identity[0]}:${digest}`;
}
