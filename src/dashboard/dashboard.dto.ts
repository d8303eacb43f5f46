import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';

export class LoginFormDto {
  @ApiProperty({ description: 'the login form token (set with the form)' })
  @IsString()
  @MaxLength(100)
  _csrf!: string;

  @ApiProperty({ description: "the operator's name, kept in the audit log", maxLength: 64 })
  @IsString()
  @Matches(/^[\p{L}\p{N} ._@'-]{1,64}$/u, {
    message: "operator must be 1 to 64 letters, digits, spaces or . _ @ ' -",
  })
  operator!: string;

  @ApiProperty({ description: 'the operator key (OPERATOR_KEY)' })
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  key!: string;
}

/** Every dashboard action form carries the session's CSRF token; a few name where to go back to. */
export class ActionFormDto {
  @ApiProperty({ description: "the session's CSRF token" })
  @IsString()
  @MaxLength(100)
  _csrf!: string;

  @ApiPropertyOptional({ description: 'a dashboard path to return to' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @Matches(/^\/dashboard(\/[\w/-]*)?$/, { message: 'back must be a dashboard path' })
  back?: string;
}

export class OverviewQueryDto {
  @ApiPropertyOptional({ enum: ['24h', '7d'] })
  @IsOptional()
  @IsIn(['24h', '7d'])
  window?: '24h' | '7d';
}

export class PaymentSearchQueryDto {
  @ApiPropertyOptional({
    description: 'payment/order id, Cleeng order or payment id, gateway payment id or customer id',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  q?: string;

  @ApiPropertyOptional({ description: 'page cursor from the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(300)
  @Matches(/^[\w-]+$/, { message: 'after must be a page cursor' })
  after?: string;
}
