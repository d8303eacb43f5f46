import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Audience, AuthGuard } from '../auth/auth.guard';
import { DomainError } from '../common/errors/domain-error';
import { DispatchSummary, OutboxDispatcher } from './outbox.dispatcher';
import { OutboxService } from './outbox.service';
import { ReplayOutboxDto, replaySelector } from './dto/replay-outbox.dto';
import { DispatchSummaryView, OutboxMessageView, ReplaySummaryView } from './outbox.views';
import { RequeuedView } from '../common/http/response-views';

/** Operator view of reports to Cleeng: what is pending, what Cleeng refused, and a retry button. */
@ApiTags('operations')
@ApiSecurity('operator-key')
@Audience('operator')
@UseGuards(AuthGuard)
@Controller('ops/outbox')
export class OutboxController {
  constructor(
    private readonly outbox: OutboxService,
    private readonly dispatcher: OutboxDispatcher,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'List outbox messages (newest first), optionally by status pending|delivered|dead',
  })
  @ApiOkResponse({ type: [OutboxMessageView] })
  async list(@Query('status') status?: string): Promise<unknown[]> {
    if (status !== undefined && !['pending', 'delivered', 'dead'].includes(status)) {
      throw new DomainError('VALIDATION_FAILED', 'status must be pending, delivered or dead', [
        { field: 'status', messages: ['must be one of pending, delivered, dead'] },
      ]);
    }
    const rows = await this.outbox.list(status);
    return rows.map(({ sealedSecret: _secret, ...row }) => row);
  }

  @Post('dispatch')
  @HttpCode(200)
  @ApiOperation({ summary: 'Deliver everything due now' })
  @ApiOkResponse({ type: DispatchSummaryView })
  dispatch(): Promise<DispatchSummary> {
    return this.dispatcher.runOnce();
  }

  @Post('replay')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'After fixing the cause: requeue dead messages by ids, by paymentId, or all; each payment keeps its order',
  })
  @ApiOkResponse({ type: ReplaySummaryView })
  async replay(@Body() body: ReplayOutboxDto): Promise<{ requeued: number }> {
    return { requeued: await this.outbox.replay(replaySelector(body)) };
  }

  @Post(':id/retry')
  @HttpCode(200)
  @ApiOperation({ summary: 'Requeue a dead message' })
  @ApiOkResponse({ type: RequeuedView })
  async retry(@Param('id') id: string): Promise<{ requeued: true }> {
    if (!/^\d+$/.test(id) || !(await this.outbox.requeue(id))) {
      throw new DomainError('NOT_FOUND', `no dead outbox message ${id}`);
    }
    return { requeued: true };
  }
}
