import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/**
 * Response shapes shared by several routes, as classes so OpenAPI (`/docs`) can describe them. The
 * mapping functions build plain objects; these classes only document them (no runtime role).
 */
export class MoneyView {
  @ApiProperty({ example: 999, description: 'integer minor units' })
  value!: number;

  @ApiProperty({ example: 'USD', description: 'ISO 4217' })
  currency!: string;
}

export class DeclineView {
  @ApiProperty({
    example: 'PAY_DEC',
    description: 'normalised decline code (PAY_CEX, PAY_CLE, FRA_REJ, ...)',
  })
  code!: string;

  @ApiProperty({ enum: ['hard', 'soft', 'technical'] })
  class!: string;

  @ApiProperty({ example: 'Refused' })
  reason!: string;

  @ApiPropertyOptional({ description: "the gateway's own code", example: '2' })
  rawCode?: string;
}

export class CardView {
  @ApiPropertyOptional({ example: 'visa' })
  variant?: string;

  @ApiPropertyOptional({ example: '1111' })
  lastCardFourDigits?: string;

  @ApiPropertyOptional({ example: '03/2030', description: 'MM/YYYY' })
  cardExpirationDate?: string;

  @ApiPropertyOptional()
  holderName?: string;
}

/** What the shopper must do next: follow a redirect (3DS) or hand `data` to the gateway's widget. */
export class GatewayActionView {
  @ApiProperty({ enum: ['redirect', 'widget', 'hosted'] })
  type!: 'redirect' | 'widget' | 'hosted';

  @ApiPropertyOptional()
  url?: string;

  @ApiPropertyOptional({ enum: ['GET', 'POST'], description: 'redirect only' })
  method?: 'GET' | 'POST';

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'redirect only: form fields to send',
  })
  params?: Record<string, string>;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'widget/hosted only' })
  data?: Record<string, unknown>;
}

export class RequeuedView {
  @ApiProperty({ enum: [true] })
  requeued!: true;
}
