import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { parseCleengWebhook } from '../cleeng/cleeng-webhook.parser';
import { DomainError } from '../common/errors/domain-error';
import type { WebhookHeaders } from '../gateways/gateway.provider';
import { GatewayRegistry } from '../gateways/gateway.registry';
import type { GatewayId } from '../gateways/gateway-ids';
import { InboxService } from '../inbox/inbox.service';

/** The largest webhook body accepted, on both intake paths (Express's raw parser and the bare one). */
export const WEBHOOK_BODY_LIMIT_BYTES = 1024 * 1024;

export interface CleengWebhookAck {
  received: true;
  duplicate: boolean;
}

/** What the sender is answered, ready for the wire. */
export interface WebhookAnswer {
  contentType: string;
  body: string;
  /** the route label of the request metrics (`/webhooks/:gateway`), as Express would name it */
  route: string;
}

/**
 * One webhook delivery, from its raw bytes to a stored inbox row: the source's own verification first (401), then
 * parsing (400), then the store (5xx when it could not be written, so the sender retries). The Nest controllers
 * (OpenAPI, error mapping) and the bare intake in front of Express (webhook-fast-path.ts) both call it.
 */
@Injectable()
export class WebhookIntake {
  private readonly sources: ReadonlySet<string>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly gateways: GatewayRegistry,
    private readonly inbox: InboxService,
  ) {
    // Cleeng and every enabled gateway that sends webhooks: fixed once the registry is built
    this.sources = new Set([
      'cleeng',
      ...gateways.enabled().filter((id) => typeof gateways.get(id).parseWebhook === 'function'),
    ]);
  }

  async cleeng(headers: WebhookHeaders, body: Buffer): Promise<CleengWebhookAck> {
    const event = parseCleengWebhook(headers, body, this.config.cleeng);
    const { duplicates } = await this.inbox.store('cleeng', [event]);
    return { received: true, duplicate: duplicates > 0 };
  }

  async gateway(gatewayId: GatewayId, headers: WebhookHeaders, body: Buffer): Promise<'[accepted]'> {
    const gateway = this.gateways.get(gatewayId);
    if (!gateway.parseWebhook) {
      throw new DomainError('NOT_FOUND', `gateway ${gatewayId} sends no webhooks`);
    }
    const events = gateway.parseWebhook(headers, body);
    await this.inbox.store(
      gatewayId,
      events.map((event) => ({ eventKey: event.eventKey, eventType: event.rawType, payload: { ...event } })),
    );
    return '[accepted]';
  }

  /** Whether `source` (the path segment after /webhooks/) names a webhook this intake stores. */
  accepts(source: string): boolean {
    return this.sources.has(source);
  }

  /** The answer for an accepted source; throws what the controllers throw (the caller maps it). */
  async answer(source: string, headers: WebhookHeaders, body: Buffer): Promise<WebhookAnswer> {
    if (source === 'cleeng') {
      return {
        contentType: 'application/json; charset=utf-8',
        body: JSON.stringify(await this.cleeng(headers, body)),
        route: '/webhooks/cleeng',
      };
    }
    return {
      contentType: 'text/plain; charset=utf-8',
      body: await this.gateway(source, headers, body),
      route: '/webhooks/:gateway',
    };
  }
}
