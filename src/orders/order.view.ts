import { OrderEntity } from './order.entity';
import { ApiProperty } from '@nestjs/swagger';
import { MoneyView } from '../common/http/response-views';

export class OrderView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'O123456789' }) cleengOrderId!: string;
  @ApiProperty({ example: '123456789' }) customerId!: string;
  @ApiProperty({ example: 'S123456789_US' }) offerId!: string;
  @ApiProperty({ example: 'adyen' }) gateway!: string;
  @ApiProperty({ example: 101, description: 'Cleeng paymentMethodId' }) paymentMethodId!: number;
  @ApiProperty({ type: MoneyView, description: 'the amount to charge' }) amount!: MoneyView;
  @ApiProperty({ example: 'US' }) country!: string;
  @ApiProperty({ example: 'open' }) status!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) expiresAt!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export function toOrderView(o: OrderEntity): OrderView {
  return {
    id: o.id,
    cleengOrderId: o.cleengOrderId,
    customerId: o.customerId,
    offerId: o.offerId,
    gateway: o.gateway,
    paymentMethodId: o.paymentMethodId,
    amount: { value: o.amountMinor, currency: o.currency },
    country: o.country,
    status: o.status,
    expiresAt: o.expiresAt?.toISOString() ?? null,
    createdAt: o.createdAt.toISOString(),
  };
}
