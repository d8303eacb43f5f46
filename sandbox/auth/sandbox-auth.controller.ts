import { Body, Controller, Get, Post, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { SandboxAuthService } from './sandbox-auth.service';
import { SandboxErrorFilter } from '../shared/sandbox-error';

export class MintTokenDto {
  @Matches(/^\d{1,18}$/, { message: 'customerId must be a numeric Cleeng customer id' })
  customerId!: string;

  @IsOptional()
  @IsInt()
  @Min(-3600)
  @Max(86_400)
  expiresInSeconds?: number;
}

/** Stand-in for Cleeng's MediaStore auth: a JWKS and a way to mint customer tokens for tests and demos. */
@ApiExcludeController()
@UseFilters(SandboxErrorFilter)
@Controller('sandbox/auth')
export class SandboxAuthController {
  constructor(private readonly auth: SandboxAuthService) {}

  @Get('.well-known/jwks.json')
  jwks(): { keys: unknown[] } {
    return this.auth.jwks();
  }

  @Post('token')
  mint(@Body() dto: MintTokenDto): { token: string; expiresAt: string } {
    return this.auth.mint(dto.customerId, dto.expiresInSeconds ?? 900);
  }
}
