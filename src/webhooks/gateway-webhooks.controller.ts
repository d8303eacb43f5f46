import { Controller, Header, HttpCode, Param, ParseEnumPipe, Post, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { GATEWAY_IDS, GatewayId } from '../gateways/gateway-ids';
import { rawBodyOf } from '../inbox/raw-body';
import { NoRateLimit } from '../rate-limit/rate-limit.decorators';
import { WebhookIntake } from './webhook-intake';

const GATEWAY_ENUM = Object.fromEntries(GATEWAY_IDS.map((g) => [g, g])) as Record<GatewayId, GatewayId>;

/**
 * `POST /webhooks/{adyen|cleverbridge|smart-glocal|smartpay}`: the gateway verifies the signature on the
 * raw body and normalises the events; they are stored in the inbox and acknowledged at once.
 * 401 bad signature, 400 malformed, 5xx only if they could not be stored (so the sender retries).
 * A well-formed delivery is usually answered by the bare intake ahead of Express (webhook-fast-path.ts).
 */
@ApiTags('webhooks')
@NoRateLimit()
@Controller('webhooks')
export class GatewayWebhooksController {
  constructor(private readonly intake: WebhookIntake) {}

  @Post(':gateway')
  @HttpCode(200)
  @Header('Content-Type', 'text/plain')
  @ApiOperation({ summary: 'Gateway notifications (Adyen answers "[accepted]")' })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'stored; Adyen expects exactly [accepted]',
    schema: { type: 'string', example: '[accepted]' },
  })
  receive(
    @Param('gateway', new ParseEnumPipe(GATEWAY_ENUM)) gatewayId: GatewayId,
    @Req() req: Request,
  ): Promise<string> {
    return this.intake.gateway(gatewayId, req.headers, rawBodyOf(req));
  }
}
