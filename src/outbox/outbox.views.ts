import { ApiProperty } from '@nestjs/swagger';
import type { DispatchSummary } from './outbox.dispatcher';
import type { OutboxHttpPayload, OutboxStatus } from './outbox-message.entity';

export class DispatchSummaryView implements DispatchSummary {
  @ApiProperty() delivered!: number;
  @ApiProperty() retried!: number;
  @ApiProperty() dead!: number;
}

/** An outbox row as operators see it: the sealed secret is never shown. */
export class OutboxMessageView {
  @ApiProperty({ example: '42' }) id!: string;
  @ApiProperty({ example: 'cleeng.payment.create' }) kind!: string;
  @ApiProperty() aggregateId!: string;
  @ApiProperty() dedupeKey!: string;
  @ApiProperty({
    type: 'object',
    properties: {
      method: { type: 'string', enum: ['POST', 'PATCH', 'DELETE'] },
      path: { type: 'string' },
      body: { type: 'object', additionalProperties: true },
      secretPath: { type: 'string' },
    },
  })
  payload!: OutboxHttpPayload;
  @ApiProperty({ enum: ['pending', 'delivered', 'dead'] }) status!: OutboxStatus;
  @ApiProperty() attempts!: number;
  @ApiProperty({ format: 'date-time' }) nextAttemptAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lockedUntil!: string | null;
  @ApiProperty({ type: String, nullable: true }) lastError!: string | null;
  @ApiProperty({ description: "Cleeng's answer, tokens redacted", nullable: true }) result!: unknown;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) deliveredAt!: string | null;
}

export class ReplaySummaryView {
  @ApiProperty({ description: 'dead messages put back in line' })
  requeued!: number;
}
