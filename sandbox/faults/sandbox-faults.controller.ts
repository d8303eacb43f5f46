import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseEnumPipe,
  Post,
  UseFilters,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsNumber, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { FaultSettings, SandboxFaults, SandboxSystem } from './sandbox-faults';
import { SandboxErrorFilter } from '../shared/sandbox-error';

const SYSTEMS = ['cleeng', 'adyen', 'cleverbridge', 'smart-glocal', 'smartpay'] as const;
const SYSTEM_ENUM = Object.fromEntries(SYSTEMS.map((s) => [s, s])) as Record<SandboxSystem, SandboxSystem>;

export class FaultSettingsDto implements FaultSettings {
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(120_000) latencyMs?: number;
  @IsOptional() @Type(() => Number) @IsNumber() @Min(0) @Max(1) errorRate?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) failNext?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(400) @Max(599) failStatus?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(86_400) retryAfterSeconds?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) hangNext?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) failAfterNext?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(600_000) hangMs?: number;
  @IsOptional() @Type(() => Number) @IsNumber() @Min(0) @Max(1) lostWebhookRate?: number;
  @IsOptional() @Type(() => Number) @IsNumber() @Min(0) @Max(1) duplicateWebhookRate?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(2) killPid?: number;
  @IsOptional() @IsString() @MaxLength(200) failOn?: string;
  @IsOptional() @IsString() @MaxLength(200) killOn?: string;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) killSkip?: number;
}

@ApiExcludeController()
@UseFilters(SandboxErrorFilter)
@Controller('sandbox/faults')
export class SandboxFaultsController {
  constructor(private readonly faults: SandboxFaults) {}

  @Get()
  list(): Record<string, FaultSettings> {
    return this.faults.all();
  }

  @Post(':system')
  @HttpCode(200)
  set(
    @Param('system', new ParseEnumPipe(SYSTEM_ENUM)) system: SandboxSystem,
    @Body() body: FaultSettingsDto,
  ): FaultSettings {
    return this.faults.set(system, body);
  }

  @Delete(':system')
  @HttpCode(204)
  clear(@Param('system', new ParseEnumPipe(SYSTEM_ENUM)) system: SandboxSystem): void {
    this.faults.clear(system);
  }
}
