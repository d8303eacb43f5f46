import type { GatewayAction } from '../gateways/gateway.provider';
import { PaymentEntity } from './payment.entity';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { DeclineView, GatewayActionView, MoneyView } from '../common/http/response-views';

export class PaymentView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) orderId!: string;
  @ApiProperty({ example: 'adyen' }) gateway!: string;
  @ApiProperty({ example: 'initial-payment', description: 'Cleeng paymentOperation' }) operation!: string;
  @ApiProperty({
    example: 'captured',
    description: 'pending | unknown | action_required | authorised | captured | rejected | refunded | ...',
  })
  status!: string;
  @ApiProperty({ type: MoneyView }) amount!: MoneyView;
  @ApiPropertyOptional({ description: "the gateway's payment id (Adyen pspReference)" })
  externalPaymentId?: string;
  @ApiPropertyOptional({
    type: GatewayActionView,
    description: 'status action_required: what the shopper must do',
  })
  action?: GatewayAction;
  @ApiPropertyOptional({ type: DeclineView, description: 'status rejected' }) decline?: DeclineView;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export function toPaymentView(p: PaymentEntity): PaymentView {
  return {
    id: p.id,
    orderId: p.orderId,
    gateway: p.gateway,
    operation: p.operation,
    status: p.status,
    amount: { value: p.amountMinor, currency: p.currency },
    ...(p.externalPaymentId ? { externalPaymentId: p.externalPaymentId } : {}),
    ...(p.action && p.status === 'action_required' ? { action: p.action } : {}),
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
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}
