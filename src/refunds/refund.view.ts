import { RefundEntity } from './refund.entity';
import { ApiProperty } from '@nestjs/swagger';
import { MoneyView } from '../common/http/response-views';

export class RefundView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) paymentId!: string;
  @ApiProperty({ type: MoneyView }) amount!: MoneyView;
  @ApiProperty({ example: 'succeeded', description: 'succeeded | pending | unknown | failed' })
  status!: string;
  @ApiProperty({ type: String, nullable: true }) reason!: string | null;
  @ApiProperty({ example: 'api', description: 'who asked: api, cleeng, gateway' }) source!: string;
  @ApiProperty({ type: String, nullable: true }) externalRefundId!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export function toRefundView(r: RefundEntity): RefundView {
  return {
    id: r.id,
    paymentId: r.paymentId,
    amount: { value: r.amountMinor, currency: r.currency },
    status: r.status,
    reason: r.reason,
    source: r.source,
    externalRefundId: r.externalRefundId,
    createdAt: r.createdAt.toISOString(),
  };
}
