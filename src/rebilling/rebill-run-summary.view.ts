import { ApiProperty } from '@nestjs/swagger';
import type { RebillRunSummary } from './rebilling.service';

export class RebillRunSummaryView implements RebillRunSummary {
  @ApiProperty({ description: 'subscriptions claimed (due and not leased by another instance)' })
  claimed!: number;
  @ApiProperty() batches!: number;
  @ApiProperty() captured!: number;
  @ApiProperty() declined!: number;
  @ApiProperty() retryScheduled!: number;
  @ApiProperty() actionRequired!: number;
  @ApiProperty() cancelled!: number;
  @ApiProperty() pending!: number;
  @ApiProperty({ description: 'unknown outcomes and technical failures, repeated later under the same key' })
  retryLater!: number;
  @ApiProperty() suspended!: number;
  @ApiProperty({ description: 'nothing to do, or settled meanwhile' }) skipped!: number;
  @ApiProperty() errors!: number;
  @ApiProperty({ description: 'duration of the pass' }) ms!: number;
}
