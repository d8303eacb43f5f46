import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsOptional, IsString, IsUUID, MaxLength, ValidateNested } from 'class-validator';
import { PositiveMoneyDto } from '../../common/money/money.dto';

export class CreateRefundDto {
  @ApiProperty({ format: 'uuid', description: 'our payment id' })
  @IsUUID()
  paymentId!: string;

  @ApiPropertyOptional({
    type: PositiveMoneyDto,
    description: 'partial amount; default: everything not yet refunded',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => PositiveMoneyDto)
  amount?: PositiveMoneyDto;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(255)
  reason?: string;
}
