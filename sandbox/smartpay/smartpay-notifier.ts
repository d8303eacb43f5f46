import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Clock } from '../clock/clock';
import { SandboxClockService } from '../clock/sandbox-clock.service';
import { SandboxFaults } from '../faults/sandbox-faults';
import { SANDBOX_SETTINGS, SandboxSettings } from '../sandbox-settings';
import {
  DeliveryRecord,
  IdleResult,
  OutgoingWebhook,
  WebhookAnswer,
  WebhookDispatcher,
} from '../webhooks/webhook-dispatcher';
import { SmartPayNotificationBody, SmartPaySandboxStore } from './smartpay-sandbox.store';

export interface SmartPayNotificationMeta {
  notificationId: string;
  eventType: string;
  objectId: string;
}

export type NotifyAuthMode = 'valid' | 'invalid' | 'missing';

function metaOf(body: unknown): SmartPayNotificationMeta {
  const n = (typeof body === 'object' && body !== null ? body : {}) as Partial<SmartPayNotificationBody>;
  return {
    notificationId: typeof n.id === 'string' ? n.id : '',
    eventType: typeof n.eventType === 'string' ? n.eventType : '',
    objectId: typeof n.objectId === 'string' ? n.objectId : '',
  };
}

/**
 * Sends Subscription Module notifications to the Notification Target URL (`${PUBLIC_URL}/webhooks/smartpay`)
 * with the Basic credentials of the Notification Service Settings (SMARTPAY_NOTIFY_USERNAME/PASSWORD).
 * Fire-and-forget with retries; SandboxFaults('smartpay') may lose or duplicate one. Every sandbox clock
 * advance runs the billing cycles that became due.
 */
@Injectable()
export class SmartPayNotifier implements OnModuleInit, OnModuleDestroy {
  readonly dispatcher: WebhookDispatcher<SmartPayNotificationMeta>;
  private unsubscribe: (() => void) | undefined;

  constructor(
    @Inject(SANDBOX_SETTINGS) private readonly config: SandboxSettings,
    private readonly faults: SandboxFaults,
    private readonly store: SmartPaySandboxStore,
    private readonly clockService: SandboxClockService,
    clock: Clock,
  ) {
    this.dispatcher = new WebhookDispatcher('smartpay', () => clock.now());
  }

  onModuleInit(): void {
    this.unsubscribe = this.clockService.onAdvance((now) => {
      this.send(this.store.runDue(now));
      return Promise.resolve();
    }, 'smartpay-billing-cycles');
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    this.dispatcher.close();
  }

  send(notifications: readonly SmartPayNotificationBody[]): DeliveryRecord<SmartPayNotificationMeta>[] {
    return notifications.flatMap((n) =>
      this.dispatcher.dispatch(metaOf(n), this.request(n, 'valid'), this.faults.webhookCopies('smartpay')),
    );
  }

  /** Test route: any body with the credentials asked for, once, now. */
  sendNow(body: unknown, auth: NotifyAuthMode): Promise<WebhookAnswer> {
    return this.dispatcher.sendOnce(metaOf(body), this.request(body, auth));
  }

  idle(timeoutMs: number): Promise<IdleResult> {
    return this.dispatcher.idle(timeoutMs);
  }

  private request(body: unknown, auth: NotifyAuthMode): OutgoingWebhook {
    const { notifyUsername, notifyPassword } = this.config.smartpay;
    const headers: Record<string, string> = {};
    if (auth !== 'missing') {
      const password = auth === 'valid' ? notifyPassword : `not-${notifyPassword}`;
      headers.authorization = `Basic ${Buffer.from(`${notifyUsername}:${password}`).toString('base64')}`;
    }
    return { url: `${this.config.publicUrl}/webhooks/smartpay`, headers, body: JSON.stringify(body) };
  }
}
