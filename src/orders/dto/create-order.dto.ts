import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsPositive,
  IsString,
  Length,
  Matches,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { GATEWAY_IDS, GatewayId } from '../../gateways/gateway-ids';

export class CreateOrderDto {
  @ApiProperty({ example: '927751142', description: 'Cleeng customer id' })
  @IsString()
  @Matches(/^\d{1,18}$/, { message: 'customerId must be a numeric Cleeng customer id' })
  customerId!: string;

  @ApiProperty({ example: 'S100000001_US' })
  @IsString()
  @Length(1, 64)
  offerId!: string;

  @ApiProperty({ example: 'USD' })
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be an ISO 4217 code like USD' })
  currency!: string;

  @ApiProperty({ example: 'US' })
  @Matches(/^[A-Z]{2}$/, { message: 'country must be an ISO 3166-1 alpha-2 code like US' })
  country!: string;

  @ApiPropertyOptional({ enum: GATEWAY_IDS, description: 'gateway id; or give paymentMethodId' })
  @ValidateIf((o: CreateOrderDto) => o.gateway !== undefined || o.paymentMethodId === undefined)
  @IsIn(GATEWAY_IDS, {
    message: `gateway must be one of ${GATEWAY_IDS.join(', ')} (or give paymentMethodId)`,
  })
  gateway?: GatewayId;

  @ApiPropertyOptional({ example: 101, description: 'Cleeng paymentMethodId; or give gateway' })
  @IsOptional()
  @IsInt()
  @IsPositive()
  paymentMethodId?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(64)
  couponCode?: string;
}
