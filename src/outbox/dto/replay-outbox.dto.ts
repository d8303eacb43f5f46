import { ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  Equals,
  IsArray,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
} from 'class-validator';
import { DomainError } from '../../common/errors/domain-error';
import type { OutboxReplaySelector } from '../outbox.service';

/** Exactly one of `ids`, `paymentId` or `all: true`. */
export class ReplayOutboxDto {
  @ApiPropertyOptional({ type: [String], description: 'dead outbox message ids' })
  @IsOptional()
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(1000)
  @Matches(/^\d{1,18}$/, { each: true, message: 'each id must be an outbox message id' })
  ids?: string[];

  @ApiPropertyOptional({ description: 'our payment id (or any other report aggregate id)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  paymentId?: string;

  @ApiPropertyOptional({ enum: [true], description: 'every dead message' })
  @IsOptional()
  @Equals(true)
  all?: true;
}

export function replaySelector(dto: ReplayOutboxDto): OutboxReplaySelector {
  const chosen = [dto.ids, dto.paymentId, dto.all].filter((v) => v !== undefined).length;
  if (chosen !== 1) {
    throw new DomainError('VALIDATION_FAILED', 'give exactly one of ids, paymentId or all: true', [
      { field: 'ids', messages: ['exactly one of ids, paymentId, all is required'] },
    ]);
  }
  if (dto.ids) {
    return { ids: dto.ids };
  }
  return dto.paymentId !== undefined ? { paymentId: dto.paymentId } : { all: true };
}
