import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  registerDecorator,
  ValidateNested,
  ValidationArguments,
} from 'class-validator';
import { MoneyDto } from '../../common/money/money.dto';
import { IsExtraParameters } from '../../subscriptions/dto/validators';

const CUSTOMER_KEYS = ['logonPurchaseId', 'customerReferenceId', 'subscriptionId'] as const;

function customerProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'customer must be an object with exactly one of logonPurchaseId, customerReferenceId, subscriptionId';
  }
  const entries = Object.entries(value as Record<string, unknown>);
  const unknown = entries.filter(([key]) => !(CUSTOMER_KEYS as readonly string[]).includes(key));
  if (unknown.length > 0) {
    return `customer: unknown field ${unknown.map(([k]) => JSON.stringify(k)).join(', ')}`;
  }
  const given = entries.filter(([, v]) => v !== undefined && v !== null);
  if (given.length !== 1) {
    return 'customer must have exactly one of logonPurchaseId, customerReferenceId, subscriptionId';
  }
  const [key, id] = given[0] ?? ['', undefined];
  if (typeof id !== 'string' || id.trim() === '' || id.length > 64) {
    return `customer.${key} must be a non-empty string of at most 64 characters`;
  }
  return undefined;
}

/** Exactly one Cleverbridge customer identifier (the seed: LogonPurchaseId, CustomerReferenceId or SubscriptionId). */
function IsCartCustomer(): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'isCartCustomer',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate: (value: unknown) => customerProblem(value) === undefined,
        defaultMessage: (args: ValidationArguments) => customerProblem(args.value) ?? 'invalid customer',
      },
    });
  };
}

export class PurchaseItemDto {
  @ApiProperty({ example: '200001' })
  @IsString()
  @Length(1, 64)
  @Matches(/^[\w.-]+$/, { message: 'productId may contain letters, digits, "-", "_" and "."' })
  productId!: string;

  @ApiProperty({ example: 2 })
  @IsInt()
  @Min(1)
  @Max(10_000)
  quantity!: number;

  @ApiPropertyOptional({ type: MoneyDto, description: 'unit price replacing the catalogue price' })
  @IsOptional()
  @ValidateNested()
  @Type(() => MoneyDto)
  dynamicPrice?: MoneyDto;

  @ApiPropertyOptional({ example: 'Support hours (top-up)' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  dynamicName?: string;

  @ApiPropertyOptional({ example: 'for ticket #4711' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  additionalName?: string;

  @ApiPropertyOptional({ example: { 'x-ticket': '4711' } })
  @IsOptional()
  @IsExtraParameters()
  extraParameters?: Record<string, string>;
}

/** Why a cart's priced total cannot be stored or charged exactly, or undefined when it can. */
function cartTotalProblem(items: unknown): string | undefined {
  if (!Array.isArray(items)) {
    return undefined; // @IsArray reports it
  }
  let total = 0;
  const currencies = new Set<string>();
  for (const item of items as Partial<PurchaseItemDto>[]) {
    const price = item?.dynamicPrice;
    if (!price || typeof price.value !== 'number' || typeof item.quantity !== 'number') {
      continue; // the item's own rules report it
    }
    currencies.add(price.currency);
    total += price.value * item.quantity;
  }
  if (currencies.size > 1) {
    return 'items: every dynamicPrice must be in one currency';
  }
  // quantity x price can pass 2^53 although each is in range: beyond it totals lose cents
  if (!Number.isSafeInteger(total)) {
    return `items: the cart total (sum of dynamicPrice.value x quantity) must not exceed ${Number.MAX_SAFE_INTEGER} minor units`;
  }
  return undefined;
}

function IsChargeableCart(): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'isChargeableCart',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate: (value: unknown) => cartTotalProblem(value) === undefined,
        defaultMessage: (args: ValidationArguments) => cartTotalProblem(args.value) ?? 'invalid cart',
      },
    });
  };
}

/** DESIGN §9: a one-off Cleverbridge ProcessCart purchase. */
export class CreatePurchaseDto {
  @ApiProperty({
    example: { customerReferenceId: 'cust-4711' },
    description: 'exactly one of logonPurchaseId, customerReferenceId, subscriptionId',
  })
  @IsCartCustomer()
  customer!: { logonPurchaseId?: string; customerReferenceId?: string; subscriptionId?: string };

  @ApiProperty({ type: [PurchaseItemDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => PurchaseItemDto)
  @IsChargeableCart()
  items!: PurchaseItemDto[];

  @ApiPropertyOptional({ enum: ['interactive', 'non-interactive'], default: 'interactive' })
  @IsOptional()
  @IsIn(['interactive', 'non-interactive'])
  mode?: 'interactive' | 'non-interactive';

  @ApiPropertyOptional({
    example: { 'x-campaign': 'spring' },
    description: 'cart x-parameters ("x-..." keys)',
  })
  @IsOptional()
  @IsExtraParameters()
  extraParameters?: Record<string, string>;

  @ApiPropertyOptional({ enum: ['Default', 'PurchaseOnly', 'SubscriptionOnly'] })
  @IsOptional()
  @IsIn(['Default', 'PurchaseOnly', 'SubscriptionOnly'])
  extraParameterMode?: 'Default' | 'PurchaseOnly' | 'SubscriptionOnly';

  @ApiPropertyOptional({ example: 'US' })
  @IsOptional()
  @Matches(/^[A-Z]{2}$/, { message: 'defaultCountryId must be an ISO 3166-1 alpha-2 code like US' })
  defaultCountryId?: string;

  @ApiPropertyOptional({ example: 'en' })
  @IsOptional()
  @Matches(/^[a-z]{2}$/, { message: 'defaultLanguageId must be an ISO 639-1 code like en' })
  defaultLanguageId?: string;
}
