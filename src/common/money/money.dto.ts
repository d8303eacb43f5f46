import { ApiProperty } from '@nestjs/swagger';
import { IsInt, Matches, Max, Min } from 'class-validator';

/** `{value, currency}` on the wire: integer minor units and an ISO 4217 code. */
export class MoneyDto {
  @ApiProperty({ example: 999, description: 'minor units' })
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  value!: number;

  @ApiProperty({ example: 'USD' })
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be an ISO 4217 code like USD' })
  currency!: string;
}

/**
 * A money amount that must be above zero (refunds). Every rule is repeated here: class-validator
 * drops a parent's rules for a property the subclass decorates again, so `extends MoneyDto` with
 * only `@IsPositive()` let 1.5 and 2^53 through to a 500.
 */
export class PositiveMoneyDto {
  @ApiProperty({ example: 500, description: 'minor units, above zero' })
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  value!: number;

  @ApiProperty({ example: 'USD' })
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be an ISO 4217 code like USD' })
  currency!: string;
}
