import { Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Audience, AuthGuard } from '../auth/auth.guard';
import { Clock } from '../common/clock/clock';
import { RebillingService, RebillRunSummary } from './rebilling.service';
import { RebillRunSummaryView } from './rebill-run-summary.view';

/** Operator button: run the rebilling pass now (what the cron tick does). */
@ApiTags('operations')
@ApiSecurity('operator-key')
@Audience('operator')
@UseGuards(AuthGuard)
@Controller('ops/rebilling')
export class RebillingController {
  constructor(
    private readonly rebilling: RebillingService,
    private readonly clock: Clock,
  ) {}

  @Post('run')
  @HttpCode(200)
  @ApiOperation({ summary: 'Charge every connector-managed subscription due now; returns the pass summary' })
  @ApiOkResponse({ type: RebillRunSummaryView })
  run(): Promise<RebillRunSummary> {
    return this.rebilling.runDue(this.clock.now());
  }
}
