import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { DeclineView, MoneyView } from '../common/http/response-views';
import type { RebillAdjustment, RebillAttemptEntity, RebillTry } from '../rebilling/rebill-attempt.entity';
import type { ConnectorSubscriptionEntity } from './subscription.entity';

class RebillTryView implements RebillTry {
  @ApiProperty({ example: 1 }) try!: number;
  @ApiProperty({ description: 'the idempotency key this try used' }) key!: string;
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty({ example: 'captured' }) outcome!: string;
  @ApiPropertyOptional() externalPaymentId?: string;
  @ApiPropertyOptional({
    type: 'object',
    properties: { code: { type: 'string' }, rawCode: { type: 'string' } },
  })
  decline?: { code: string; rawCode?: string };
  @ApiPropertyOptional() error?: string;
}

class RebillAdjustmentView implements RebillAdjustment {
  @ApiProperty({ enum: ['refund', 'chargeback', 'duplicate_payment'] })
  type!: 'refund' | 'chargeback' | 'duplicate_payment';
  @ApiProperty() id!: string;
  @ApiProperty({ description: 'integer minor units, in the attempt currency' }) amountMinor!: number;
  @ApiProperty({ format: 'date-time' }) at!: string;
}

class DunningView {
  @ApiProperty({ description: 'dunning retries so far' }) step!: number;
  @ApiProperty({ format: 'date-time' }) startedAt!: string;
  @ApiPropertyOptional({ type: DeclineView }) lastDecline?: DeclineView;
}

export class RebillAttemptView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() periodIndex!: number;
  @ApiProperty({ format: 'date-time' }) periodStart!: string;
  @ApiProperty({ format: 'date-time' }) periodEnd!: string;
  @ApiProperty({ example: 'captured' }) status!: string;
  @ApiProperty({ type: MoneyView }) amount!: MoneyView;
  @ApiProperty() tryNumber!: number;
  @ApiProperty() idempotencyKey!: string;
  @ApiPropertyOptional() externalPaymentId?: string;
  @ApiPropertyOptional({ type: DeclineView }) decline?: DeclineView;
  @ApiProperty() retryScheduled!: boolean;
  @ApiProperty({ type: MoneyView }) refunded!: MoneyView;
  @ApiProperty({ type: [RebillTryView] }) tries!: RebillTry[];
  @ApiProperty({ type: [RebillAdjustmentView] }) adjustments!: RebillAdjustment[];
  @ApiPropertyOptional() lastError?: string;
  @ApiPropertyOptional({ format: 'date-time' }) capturedAt?: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class SubscriptionView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() customerId!: string;
  @ApiProperty({ example: 'cleverbridge' }) gateway!: string;
  @ApiProperty({ example: 'active' }) status!: string;
  @ApiPropertyOptional() externalSubscriptionId?: string;
  @ApiPropertyOptional() cleengSubscriptionId?: string;
  @ApiPropertyOptional() offerId?: string;
  @ApiPropertyOptional() productId?: string;
  @ApiPropertyOptional({ format: 'uuid' }) paymentDetailsId?: string;
  @ApiProperty() quantity!: number;
  @ApiPropertyOptional({ example: 'de', description: 'ISO 639-1; absent = the gateway default' })
  defaultLanguageId?: string;
  @ApiProperty({ type: MoneyView }) amount!: MoneyView;
  @ApiProperty({ example: 'P1M', description: 'ISO 8601 duration' }) interval!: string;
  @ApiProperty({ format: 'date-time', description: 'start of the next period to charge' })
  nextBillingAt!: string;
  @ApiPropertyOptional({
    format: 'date-time',
    description: 'when the rebiller looks at it next (dunning retry, technical retry, grace period end)',
  })
  nextAttemptAt?: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) extraParameters!: Record<
    string,
    string
  >;
  @ApiPropertyOptional({ type: DunningView }) dunning?: DunningView;
  @ApiPropertyOptional() checkoutUrl?: string;
  @ApiPropertyOptional({ format: 'date-time' }) checkoutExpiresAt?: string;
  @ApiPropertyOptional() lastError?: string;
  @ApiPropertyOptional({ format: 'date-time' }) cancelledAt?: string;
  @ApiPropertyOptional() cancelReason?: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiPropertyOptional({ type: [RebillAttemptView], description: 'GET /v1/subscriptions/:id only' })
  attempts?: RebillAttemptView[];
}

function declineView(
  d: { code: string; class: string; reason: string; rawCode?: string } | null,
): DeclineView | undefined {
  return d
    ? { code: d.code, class: d.class, reason: d.reason, ...(d.rawCode ? { rawCode: d.rawCode } : {}) }
    : undefined;
}

export function toAttemptView(a: RebillAttemptEntity): RebillAttemptView {
  const decline = declineView(a.decline);
  return {
    id: a.id,
    periodIndex: a.periodIndex,
    periodStart: a.periodStart.toISOString(),
    periodEnd: a.periodEnd.toISOString(),
    status: a.status,
    amount: { value: a.amountMinor, currency: a.currency },
    tryNumber: a.tryNumber,
    idempotencyKey: a.idempotencyKey,
    ...(a.externalPaymentId ? { externalPaymentId: a.externalPaymentId } : {}),
    ...(decline ? { decline } : {}),
    retryScheduled: a.retryScheduled,
    refunded: { value: a.refundedMinor, currency: a.currency },
    tries: a.tries,
    adjustments: a.adjustments,
    ...(a.lastError ? { lastError: a.lastError } : {}),
    ...(a.capturedAt ? { capturedAt: a.capturedAt.toISOString() } : {}),
    createdAt: a.createdAt.toISOString(),
    updatedAt: a.updatedAt.toISOString(),
  };
}

export function toSubscriptionView(
  s: ConnectorSubscriptionEntity,
  attempts?: RebillAttemptEntity[],
): SubscriptionView {
  const lastDecline = declineView(s.lastDecline);
  return {
    id: s.id,
    customerId: s.customerId,
    gateway: s.gateway,
    status: s.status,
    ...(s.externalSubscriptionId ? { externalSubscriptionId: s.externalSubscriptionId } : {}),
    ...(s.cleengSubscriptionId ? { cleengSubscriptionId: s.cleengSubscriptionId } : {}),
    ...(s.offerId ? { offerId: s.offerId } : {}),
    ...(s.productId ? { productId: s.productId } : {}),
    ...(s.paymentDetailsId ? { paymentDetailsId: s.paymentDetailsId } : {}),
    quantity: s.quantity,
    ...(s.defaultLanguageId ? { defaultLanguageId: s.defaultLanguageId } : {}),
    amount: { value: s.amountMinor, currency: s.currency },
    interval: s.billingInterval,
    nextBillingAt: s.nextBillingAt.toISOString(),
    ...(s.nextAttemptAt ? { nextAttemptAt: s.nextAttemptAt.toISOString() } : {}),
    extraParameters: s.xParameters,
    ...(s.dunningStartedAt
      ? {
          dunning: {
            step: s.dunningStep,
            startedAt: s.dunningStartedAt.toISOString(),
            ...(lastDecline ? { lastDecline } : {}),
          },
        }
      : {}),
    ...(s.checkoutUrl ? { checkoutUrl: s.checkoutUrl } : {}),
    ...(s.checkoutExpiresAt ? { checkoutExpiresAt: s.checkoutExpiresAt.toISOString() } : {}),
    ...(s.lastError ? { lastError: s.lastError } : {}),
    ...(s.cancelledAt ? { cancelledAt: s.cancelledAt.toISOString() } : {}),
    ...(s.cancelReason ? { cancelReason: s.cancelReason } : {}),
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
    ...(attempts ? { attempts: attempts.map(toAttemptView) } : {}),
  };
}
