import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { createHmac } from 'node:crypto';
import { Clock } from '../clock/clock';
import { SANDBOX_SETTINGS, SandboxSettings } from '../sandbox-settings';
import { SandboxFaults } from '../faults/sandbox-faults';
import {
  DeliveryRecord,
  IdleResult,
  OutgoingWebhook,
  WebhookAnswer,
  WebhookDispatcher,
} from '../webhooks/webhook-dispatcher';
import { CleengSandboxStore } from './cleeng-sandbox.store';
import {
  CleengWebhookBody,
  CleengWebhookDataByTopic,
  CleengWebhookTopic,
  paymentDetailsDeactivatedData,
  SANDBOX_BROADCASTER_ID,
  webhookBody,
} from './cleeng-webhook.payloads';

export type SignatureMode = 'valid' | 'invalid' | 'missing';

export interface CleengWebhookMeta {
  topic: string;
  data: unknown;
}

export type CleengWebhookDelivery = DeliveryRecord<CleengWebhookMeta>;

/** Lowercase hex HMAC-SHA256 of the exact body bytes: the signature scheme DESIGN §10 assumes for Cleeng. */
export function signCleengBody(rawBody: string, secret: string): string {
  return createHmac('sha256', secret).update(rawBody, 'utf8').digest('hex');
}

/**
 * Sends the Cleeng emulator's webhooks to `${PUBLIC_URL}/webhooks/cleeng`: `{broadcasterId, topic, data}`,
 * serialised once and signed over exactly those bytes in CLEENG_WEBHOOK_SIGNATURE_HEADER. Fire-and-forget with
 * retries (see WebhookDispatcher); SandboxFaults('cleeng') may lose a webhook or send it twice.
 * Payment details the store deactivates on its own (new active details replace old ones) are announced here.
 */
@Injectable()
export class CleengWebhookEmitter implements OnModuleInit, OnModuleDestroy {
  readonly dispatcher: WebhookDispatcher<CleengWebhookMeta>;
  private unsubscribe: (() => void) | undefined;

  constructor(
    @Inject(SANDBOX_SETTINGS) private readonly config: SandboxSettings,
    private readonly faults: SandboxFaults,
    private readonly store: CleengSandboxStore,
    clock: Clock,
  ) {
    this.dispatcher = new WebhookDispatcher('cleeng', () => clock.now());
  }

  get targetUrl(): string {
    return `${this.config.publicUrl}/webhooks/cleeng`;
  }

  onModuleInit(): void {
    this.unsubscribe = this.store.onEvent((event) => {
      switch (event.type) {
        case 'paymentDetailsDeactivated':
          this.emit('paymentDetailsDeactivated', paymentDetailsDeactivatedData(event));
          return;
      }
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    this.dispatcher.close();
  }

  /** Queues a webhook (never blocks, never throws for delivery problems); returns its log entries. */
  emit<K extends CleengWebhookTopic>(topic: K, data: CleengWebhookDataByTopic[K]): CleengWebhookDelivery[] {
    const body = webhookBody(topic, data);
    return this.dispatcher.dispatch(
      { topic, data },
      this.request(body, 'valid'),
      this.faults.webhookCopies('cleeng'),
    );
  }

  /** Test route: any topic and data, signed as asked, sent once now; the app's answer comes back. */
  sendNow(topic: string, data: unknown, signature: SignatureMode): Promise<WebhookAnswer> {
    const body: CleengWebhookBody = { broadcasterId: SANDBOX_BROADCASTER_ID, topic, data };
    return this.dispatcher.sendOnce({ topic, data }, this.request(body, signature));
  }

  deliveries(): CleengWebhookDelivery[] {
    return this.dispatcher.deliveries();
  }

  idle(timeoutMs: number): Promise<IdleResult> {
    return this.dispatcher.idle(timeoutMs);
  }

  reset(): void {
    this.dispatcher.reset();
  }

  private request(body: CleengWebhookBody, signature: SignatureMode): OutgoingWebhook {
    const raw = JSON.stringify(body);
    const headers: Record<string, string> = {};
    const header = this.config.cleeng.webhookSignatureHeader;
    if (signature === 'valid') {
      headers[header] = signCleengBody(raw, this.config.cleeng.webhookSecret);
    } else if (signature === 'invalid') {
      // a well-formed signature made with the wrong secret
      headers[header] = signCleengBody(raw, `not-${this.config.cleeng.webhookSecret}`);
    }
    return { url: this.targetUrl, headers, body: raw };
  }
}
