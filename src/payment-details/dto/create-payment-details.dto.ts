import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsNotEmptyObject, IsObject, IsOptional, IsUrl, Matches } from 'class-validator';
import { GATEWAY_IDS, GatewayId } from '../../gateways/gateway-ids';

export class CreatePaymentDetailsDto {
  @ApiProperty({ example: '927751142' })
  @Matches(/^\d{1,18}$/, { message: 'customerId must be a numeric Cleeng customer id' })
  customerId!: string;

  @ApiProperty({ enum: GATEWAY_IDS })
  @IsIn(GATEWAY_IDS, { message: `gateway must be one of ${GATEWAY_IDS.join(', ')}` })
  gateway!: GatewayId;

  @ApiProperty({ description: 'gateway-specific payment method (as for POST /v1/payments)' })
  @IsObject()
  @IsNotEmptyObject()
  paymentMethod!: Record<string, unknown>;

  @ApiPropertyOptional()
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  returnUrl?: string;

  @ApiPropertyOptional({ description: 'ISO 4217 currency of the zero-value authorisation', example: 'USD' })
  @IsOptional()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be an ISO 4217 code like USD' })
  currency?: string;
}

export class ListPaymentDetailsQuery {
  @ApiProperty({ example: '927751142' })
  @Matches(/^\d{1,18}$/, { message: 'customerId must be a numeric Cleeng customer id' })
  customerId!: string;
}
