import type { CardMetadata } from '../gateways/gateway.provider';
import { PaymentDetailsEntity } from './payment-details.entity';
import { ApiProperty } from '@nestjs/swagger';
import { CardView } from '../common/http/response-views';

export class PaymentDetailsView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: '123456789' }) customerId!: string;
  @ApiProperty({ example: 'adyen' }) gateway!: string;
  @ApiProperty({ example: 'active' }) status!: string;
  @ApiProperty({ type: CardView, description: 'card facts only, never the token' }) card!: CardMetadata;
  @ApiProperty({ type: String, nullable: true }) cleengPaymentDetailsId!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

/** Never the token. */
export function toPaymentDetailsView(d: PaymentDetailsEntity): PaymentDetailsView {
  return {
    id: d.id,
    customerId: d.customerId,
    gateway: d.gateway,
    status: d.status,
    card: d.card,
    cleengPaymentDetailsId: d.cleengPaymentDetailsId,
    createdAt: d.createdAt.toISOString(),
  };
}
