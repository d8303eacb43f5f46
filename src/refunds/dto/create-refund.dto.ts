import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsInt,
  IsOptional,
  IsPositive,
  IsString,
  IsUUID,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';

export class MoneyDto {
  @ApiProperty({ example: 500, description: 'minor units' })
  @IsInt()
  @IsPositive()
  value!: number;

  @ApiProperty({ example: 'USD' })
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be an ISO 4217 code like USD' })
  currency!: string;
}

export class CreateRefundDto {
  @ApiProperty({ format: 'uuid', description: 'our payment id' })
  @IsUUID()
  paymentId!: string;

  @ApiPropertyOptional({
    type: MoneyDto,
    description: 'partial amount; default: everything not yet refunded',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => MoneyDto)
  amount?: MoneyDto;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(255)
  reason?: string;
}
