import { Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Audience, AuthGuard } from '../auth/auth.guard';
import { DomainError } from '../common/errors/domain-error';
import { GATEWAY_IDS } from '../gateways/gateway-ids';
import { InboxEventEntity, InboxSource, InboxStatus } from './inbox-event.entity';
import { InboxService } from './inbox.service';
import { redactWebhookSecrets } from './inbox-secrets';
import { InboxPassSummary, InboxWorker } from './inbox.worker';
import { InboxEventView, InboxPassSummaryView } from './inbox.views';
import { RequeuedView } from '../common/http/response-views';

const STATUSES: InboxStatus[] = ['pending', 'done', 'ignored', 'failed'];
const SOURCES: InboxSource[] = ['cleeng', ...GATEWAY_IDS];

/** Operator view of received webhooks: state, attempts, last error; requeue a failed one. */
@ApiTags('operations')
@ApiSecurity('operator-key')
@Audience('operator')
@UseGuards(AuthGuard)
@Controller('ops/inbox')
export class InboxController {
  constructor(
    private readonly inbox: InboxService,
    private readonly worker: InboxWorker,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List received webhook events (newest first) by status and source' })
  @ApiOkResponse({ type: [InboxEventView] })
  async list(
    @Query('status') status?: string,
    @Query('source') source?: string,
  ): Promise<InboxEventEntity[]> {
    if (status !== undefined && !STATUSES.includes(status as InboxStatus)) {
      throw new DomainError('VALIDATION_FAILED', `status must be one of ${STATUSES.join(', ')}`, [
        { field: 'status', messages: [`must be one of ${STATUSES.join(', ')}`] },
      ]);
    }
    if (source !== undefined && !SOURCES.includes(source)) {
      throw new DomainError('VALIDATION_FAILED', `source must be one of ${SOURCES.join(', ')}`, [
        { field: 'source', messages: [`must be one of ${SOURCES.join(', ')}`] },
      ]);
    }
    const events = await this.inbox.list({
      ...(status ? { status: status as InboxStatus } : {}),
      ...(source ? { source: source } : {}),
    });
    return events.map((event) => ({ ...event, payload: redactWebhookSecrets(event.payload) }));
  }

  @Get('summary')
  @ApiOperation({ summary: 'Number of events per status' })
  @ApiOkResponse({
    description: 'events per status',
    schema: { type: 'object', additionalProperties: { type: 'integer' } },
  })
  summary(): Promise<Record<string, number>> {
    return this.inbox.counts();
  }

  @Post('process')
  @HttpCode(200)
  @ApiOperation({ summary: 'Process everything due now' })
  @ApiOkResponse({ type: InboxPassSummaryView })
  process(): Promise<InboxPassSummary> {
    return this.worker.runOnce();
  }

  @Post(':id/retry')
  @HttpCode(200)
  @ApiOperation({ summary: 'Requeue a failed event' })
  @ApiOkResponse({ type: RequeuedView })
  async retry(@Param('id', ParseUUIDPipe) id: string): Promise<{ requeued: true }> {
    if (!(await this.inbox.requeue(id))) {
      throw new DomainError('NOT_FOUND', `no failed inbox event ${id}`);
    }
    return { requeued: true };
  }
}
