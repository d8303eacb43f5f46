import type { PurchaseEntity } from './purchase.entity';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { DeclineView, MoneyView } from '../common/http/response-views';

export class PurchaseView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'paid' }) status!: string;
  @ApiPropertyOptional({ description: 'Cleverbridge purchase id' }) purchaseId?: string;
  @ApiPropertyOptional({
    description:
      'Cleverbridge subscription the purchase created (a subscription product bought by a known customer)',
  })
  subscriptionId?: string;
  @ApiPropertyOptional({
    description:
      'where the customer completes the order (unknown customer, missing or declined payment details)',
  })
  checkoutUrl?: string;
  @ApiPropertyOptional({ format: 'date-time' }) checkoutExpiresAt?: string;
  @ApiPropertyOptional({ type: DeclineView }) decline?: DeclineView;
  @ApiPropertyOptional({
    description: 'Cleverbridge retries the declined payment itself (IsPaymentRetryScheduled)',
  })
  retryScheduled?: boolean;
  @ApiPropertyOptional({ type: MoneyView }) total?: MoneyView;
  @ApiPropertyOptional({ type: MoneyView }) refunded?: MoneyView;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
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
