import { Body, Controller, Get, HttpCode, Post, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { IsNumber, IsOptional, Max, Min } from 'class-validator';
import { AdvanceBy, AdvanceResult, MAX_ADVANCE_DAYS, SandboxClockService } from './sandbox-clock.service';
import { SandboxErrorFilter } from '../shared/sandbox-error';

export class AdvanceClockDto implements AdvanceBy {
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(MAX_ADVANCE_DAYS)
  days?: number;
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(MAX_ADVANCE_DAYS * 24)
  hours?: number;
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(MAX_ADVANCE_DAYS * 24 * 60)
  minutes?: number;
}

/** The sandbox test clock (no auth; mounted only with SANDBOX=true). */
@ApiExcludeController()
@UseFilters(SandboxErrorFilter)
@Controller('sandbox/clock')
export class SandboxClockController {
  constructor(private readonly clock: SandboxClockService) {}

  @Get()
  now(): { now: string } {
    return { now: this.clock.now().toISOString() };
  }

  /**
   * `{"days": 30}` moves sandbox time and runs every emulator's schedule for the new time. When this answers,
   * every webhook that became due is queued; `GET /sandbox/<system>/webhooks/idle` waits for delivery.
   */
  @Post('advance')
  @HttpCode(200)
  advance(@Body() body: AdvanceClockDto): Promise<AdvanceResult> {
    return this.clock.advance({
      ...(body.days !== undefined ? { days: body.days } : {}),
      ...(body.hours !== undefined ? { hours: body.hours } : {}),
      ...(body.minutes !== undefined ? { minutes: body.minutes } : {}),
    });
  }
}
