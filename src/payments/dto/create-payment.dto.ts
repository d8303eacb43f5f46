import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmptyObject, IsObject, IsOptional, IsUrl, IsUUID } from 'class-validator';

export class CreatePaymentDto {
  @ApiProperty({ format: 'uuid', description: 'our order id (from POST /v1/orders)' })
  @IsUUID()
  orderId!: string;

  @ApiProperty({
    description:
      'gateway-specific payment method, passed to the gateway untouched. Adyen: {type:"scheme", encryptedCardNumber, ...} or raw {number, expiryMonth, expiryYear, cvc, holderName}. SmartPay (no card: answered with a widget action): {billingPeriod?: "P1M", billingAddress: {addressLine1, city, postCode, countryCode, state?}, consumer?: {firstName, lastName, email}}',
    example: {
      type: 'scheme',
      number: '4111111111111111',
      expiryMonth: '03',
      expiryYear: '2030',
      cvc: '737',
      holderName: 'Matthew Brown',
    },
  })
  @IsObject()
  @IsNotEmptyObject()
  paymentMethod!: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'where the gateway sends the shopper back after 3DS/redirect' })
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  returnUrl?: string;

  @ApiPropertyOptional({ description: 'browser data for 3D Secure 2 (Adyen browserInfo)' })
  @IsOptional()
  @IsObject()
  browserInfo?: Record<string, unknown>;
}

export class CompletePaymentDto {
  @ApiProperty({
    description: 'the redirect / 3DS return payload, e.g. Adyen {redirectResult}',
    example: { redirectResult: 'X6XtfGC3...' },
  })
  @IsObject()
  @IsNotEmptyObject()
  details!: Record<string, unknown>;
}
