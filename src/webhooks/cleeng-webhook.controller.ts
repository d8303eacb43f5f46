import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { rawBodyOf } from '../inbox/raw-body';
import { NoRateLimit } from '../rate-limit/rate-limit.decorators';
import { CleengWebhookAckView } from './webhook-ack.view';
import { CleengWebhookAck, WebhookIntake } from './webhook-intake';

/**
 * `POST /webhooks/cleeng`: HMAC-SHA256 of the raw body verified first, then parsed, stored in the
 * inbox (deduplicated) and acknowledged with 200; processing happens in the inbox worker.
 * A well-formed delivery is usually answered by the bare intake ahead of Express (webhook-fast-path.ts);
 * this route answers the rest, errors included.
 */
@ApiTags('webhooks')
@NoRateLimit()
@Controller('webhooks/cleeng')
export class CleengWebhookController {
  constructor(private readonly intake: WebhookIntake) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'Cleeng webhooks (renewals, terminations, refunds, payment-detail changes)' })
  @ApiOkResponse({ type: CleengWebhookAckView })
  receive(@Req() req: Request): Promise<CleengWebhookAck> {
    return this.intake.cleeng(req.headers, rawBodyOf(req));
  }
}
