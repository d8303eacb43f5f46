import { Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { InboxService } from '../inbox/inbox.service';
import { rawBodyOf } from '../inbox/raw-body';
import { NoRateLimit } from '../rate-limit/rate-limit.decorators';
import { parseCleengWebhook } from '../cleeng/cleeng-webhook.parser';
import { CleengWebhookAckView } from './webhook-ack.view';

/**
 * `POST /webhooks/cleeng`: HMAC-SHA256 of the raw body verified first, then parsed, stored in the
 * inbox (deduplicated) and acknowledged with 200; processing happens in the inbox worker.
 */
@ApiTags('webhooks')
@NoRateLimit()
@Controller('webhooks/cleeng')
export class CleengWebhookController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly inbox: InboxService,
  ) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'Cleeng webhooks (renewals, terminations, refunds, payment-detail changes)' })
  @ApiOkResponse({ type: CleengWebhookAckView })
  async receive(@Req() req: Request): Promise<{ received: true; duplicate: boolean }> {
    const event = parseCleengWebhook(req.headers, rawBodyOf(req), this.config.cleeng);
    const { duplicates } = await this.inbox.store('cleeng', [event]);
    return { received: true, duplicate: duplicates > 0 };
  }
}
