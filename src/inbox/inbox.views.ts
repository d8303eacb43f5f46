import { ApiProperty } from '@nestjs/swagger';
import { GATEWAY_IDS } from '../gateways/gateway-ids';
import type { InboxSource, InboxStatus } from './inbox-event.entity';
import type { InboxPassSummary } from './inbox.worker';

export class InboxPassSummaryView implements InboxPassSummary {
  @ApiProperty() done!: number;
  @ApiProperty() ignored!: number;
  @ApiProperty() retried!: number;
  @ApiProperty() failed!: number;
}

export class InboxEventView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: ['cleeng', ...GATEWAY_IDS] })
  source!: InboxSource;
  @ApiProperty({ description: "the sender's natural key (deduplication)" }) eventKey!: string;
  @ApiProperty() eventType!: string;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'secrets sealed' })
  payload!: Record<string, unknown>;
  @ApiProperty({ enum: ['pending', 'done', 'ignored', 'failed'] }) status!: InboxStatus;
  @ApiProperty() attempts!: number;
  @ApiProperty({ format: 'date-time' }) nextAttemptAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lockedUntil!: string | null;
  @ApiProperty({ type: String, nullable: true }) lastError!: string | null;
  @ApiProperty({ format: 'date-time' }) receivedAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) processedAt!: string | null;
}
