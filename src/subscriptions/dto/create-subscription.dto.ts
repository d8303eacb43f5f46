import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  IsDefined,
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsUUID,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { GATEWAY_IDS, GatewayId } from '../../gateways/gateway-ids';
import { MoneyDto } from '../../common/money/money.dto';
import { IsBillingInterval, IsExtraParameters } from './validators';

const digitsToString = ({ value }: { value: unknown }): unknown =>
  typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;

/** DESIGN §9: a connector-managed subscription (billing mode 3). */
export class CreateSubscriptionDto {
  @ApiProperty({
    example: '927751142',
    description: 'your customer id (numeric Cleeng id when cleengSubscriptionId is set)',
  })
  @IsString()
  @Length(1, 128)
  @Matches(/^[\w.@:+-]+$/, { message: 'customerId may contain letters, digits and . @ : + - _' })
  customerId!: string;

  @ApiProperty({ enum: GATEWAY_IDS, example: 'cleverbridge' })
  @IsIn(GATEWAY_IDS, { message: `gateway must be one of ${GATEWAY_IDS.join(', ')}` })
  gateway!: GatewayId;

  @ApiPropertyOptional({
    example: 'S9073119',
    description:
      'the gateway subscription to rebill (Cleverbridge: the "Handled by Client" subscription id). Without it the ' +
      'subscription stays pending until the PaidOrderNotification of the first purchase names it (x-connector-subscription).',
  })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  externalSubscriptionId?: string;

  @ApiPropertyOptional({
    example: '912345678',
    description:
      'an existing Cleeng subscription every charge is reported to; without it (but with offerId) the first ' +
      'captured charge makes Cleeng create one, which is then linked',
  })
  @IsOptional()
  @Transform(digitsToString)
  @Matches(/^\d{1,15}$/, { message: 'cleengSubscriptionId must be a numeric Cleeng subscription id' })
  cleengSubscriptionId?: string;

  @ApiPropertyOptional({
    example: 'S100000001_US',
    description:
      'Cleeng offer: every charge is reported to Cleeng as an externally managed payment (customerId must then ' +
      'be the numeric Cleeng customer id); required with cleengSubscriptionId',
  })
  @ValidateIf((o: CreateSubscriptionDto) => o.offerId !== undefined || o.cleengSubscriptionId !== undefined)
  @IsString({ message: 'offerId is required when cleengSubscriptionId is given' })
  @Length(1, 64)
  offerId?: string;

  @ApiPropertyOptional({ example: '100001', description: 'gateway product (Cleverbridge: required)' })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  productId?: string;

  @ApiPropertyOptional({ example: 1, default: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000)
  quantity?: number;

  @ApiPropertyOptional({
    example: 'de',
    description:
      "the subscription's language at the gateway, ISO 639-1 (Cleverbridge: the rebill's defaultLanguageId; " +
      'default CLEVERBRIDGE_DEFAULT_LANGUAGE_ID)',
  })
  @IsOptional()
  @Matches(/^[a-z]{2}$/, { message: 'defaultLanguageId must be an ISO 639-1 code like en' })
  defaultLanguageId?: string;

  @ApiProperty({ type: MoneyDto, description: 'charged every period: {value: minor units, currency}' })
  @IsDefined()
  @ValidateNested()
  @Type(() => MoneyDto)
  amount!: MoneyDto;

  @ApiProperty({
    example: 'P1M',
    description: 'ISO 8601 duration, date components only (P1M, P1Y, P7D, P2W)',
  })
  @IsBillingInterval()
  interval!: string;

  @ApiProperty({ example: '2026-02-01T00:00:00Z', description: 'start of the first period to charge' })
  @IsISO8601({ strict: true }, { message: 'nextBillingAt must be an ISO 8601 date-time' })
  nextBillingAt!: string;

  @ApiPropertyOptional({
    example: '0b6f1c9e-6a0f-4a53-9b8e-2f1d3c4b5a69',
    description:
      'stored payment details (POST /v1/payment-details) whose token is charged every period, merchant-initiated ' +
      '(card gateways such as Adyen: required)',
  })
  @IsOptional()
  @IsUUID('4', { message: 'paymentDetailsId must be a payment details id (UUID)' })
  paymentDetailsId?: string;

  @ApiPropertyOptional({
    example: { 'x-customerid': '51254' },
    description:
      'gateway parameters sent with every rebill (Cleverbridge: x-parameters, keys start with "x-")',
  })
  @IsOptional()
  @IsExtraParameters()
  extraParameters?: Record<string, string>;
}
