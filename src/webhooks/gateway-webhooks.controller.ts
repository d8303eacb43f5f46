import { Controller, Header, HttpCode, Param, ParseEnumPipe, Post, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { DomainError } from '../common/errors/domain-error';
import { GatewayRegistry } from '../gateways/gateway.registry';
import { GATEWAY_IDS, GatewayId } from '../gateways/gateway-ids';
import { InboxService } from '../inbox/inbox.service';
import { rawBodyOf } from '../inbox/raw-body';
import { NoRateLimit } from '../rate-limit/rate-limit.decorators';

const GATEWAY_ENUM = Object.fromEntries(GATEWAY_IDS.map((g) => [g, g])) as Record<GatewayId, GatewayId>;

/**
 * `POST /webhooks/{adyen|cleverbridge|smart-glocal|smartpay}`: the gateway verifies the signature on the
 * raw body and normalises the events; they are stored in the inbox and acknowledged at once.
 * 401 bad signature, 400 malformed, 5xx only if they could not be stored (so the sender retries).
 */
@ApiTags('webhooks')
@NoRateLimit()
@Controller('webhooks')
export class GatewayWebhooksController {
  constructor(
    private readonly gateways: GatewayRegistry,
    private readonly inbox: InboxService,
  ) {}

  @Post(':gateway')
  @HttpCode(200)
  @Header('Content-Type', 'text/plain')
  @ApiOperation({ summary: 'Gateway notifications (Adyen answers "[accepted]")' })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'stored; Adyen expects exactly [accepted]',
    schema: { type: 'string', example: '[accepted]' },
  })
  async receive(
    @Param('gateway', new ParseEnumPipe(GATEWAY_ENUM)) gatewayId: GatewayId,
    @Req() req: Request,
  ): Promise<string> {
    const gateway = this.gateways.get(gatewayId);
    if (!gateway.parseWebhook) {
      throw new DomainError('NOT_FOUND', `gateway ${gatewayId} sends no webhooks`);
    }
    const events = gateway.parseWebhook(req.headers, rawBodyOf(req));
    await this.inbox.store(
      gatewayId,
      events.map((event) => ({ eventKey: event.eventKey, eventType: event.rawType, payload: { ...event } })),
    );
    return '[accepted]';
  }
}
