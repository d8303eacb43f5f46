import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { Clock } from '../clock/clock';
import { SANDBOX_SETTINGS, SandboxSettings } from '../sandbox-settings';
import { CleverbridgeNotification } from './cleverbridge-wire';
import { SandboxFaults } from '../faults/sandbox-faults';
import {
  DeliveryRecord,
  IdleResult,
  OutgoingWebhook,
  WebhookAnswer,
  WebhookDispatcher,
} from '../webhooks/webhook-dispatcher';

export interface CleverbridgeNotificationMeta {
  notificationId: string;
  type: string;
  purchaseId?: string;
  subscriptionId?: string;
}

export type CleverbridgeNotificationDelivery = DeliveryRecord<CleverbridgeNotificationMeta>;

/** Credentials a test-route notification is sent with. */
export type NotifyAuthMode = 'valid' | 'invalid' | 'missing';

function metaOf(body: unknown): CleverbridgeNotificationMeta {
  const n = (typeof body === 'object' && body !== null ? body : {}) as Partial<CleverbridgeNotification>;
  return {
    notificationId: typeof n.meta?.id === 'string' ? n.meta.id : '',
    type: typeof n.meta?.type === 'string' ? n.meta.type : '',
    ...(typeof n.purchase?.id === 'string' ? { purchaseId: n.purchase.id } : {}),
    ...(typeof n.recurringBilling?.subscriptionId === 'string'
      ? { subscriptionId: n.recurringBilling.subscriptionId }
      : {}),
  };
}

/**
 * Sends the emulator's notifications to the app like Cleverbridge's HTTPS POST transport: JSON with HTTP Basic
 * auth (CLEVERBRIDGE_NOTIFY_USERNAME/PASSWORD) to `${PUBLIC_URL}/webhooks/cleverbridge`. Fire-and-forget with
 * retries (the shared WebhookDispatcher); SandboxFaults('cleverbridge') may lose a notification or send it twice.
 */
@Injectable()
export class CleverbridgeNotifier implements OnModuleDestroy {
  readonly dispatcher: WebhookDispatcher<CleverbridgeNotificationMeta>;
  /** the valid header, built once per credentials (tests may change the settings) */
  private validAuth: { credentials: string; header: string } | undefined;

  constructor(
    @Inject(SANDBOX_SETTINGS) private readonly config: SandboxSettings,
    private readonly faults: SandboxFaults,
    clock: Clock,
  ) {
    this.dispatcher = new WebhookDispatcher('cleverbridge', () => clock.now());
  }

  get targetUrl(): string {
    return `${this.config.publicUrl}/webhooks/cleverbridge`;
  }

  /** Queues each notification (never blocks, never throws for delivery problems); returns the log entries. */
  send(notifications: readonly CleverbridgeNotification[]): CleverbridgeNotificationDelivery[] {
    return notifications.flatMap((notification) =>
      this.dispatcher.dispatch(
        metaOf(notification),
        this.request(notification, 'valid'),
        this.faults.webhookCopies('cleverbridge'),
      ),
    );
  }

  /** Test route: any body, with the credentials asked for, sent once now; the app's answer comes back. */
  sendNow(body: unknown, auth: NotifyAuthMode): Promise<WebhookAnswer> {
    return this.dispatcher.sendOnce(metaOf(body), this.request(body, auth));
  }

  deliveries(): CleverbridgeNotificationDelivery[] {
    return this.dispatcher.deliveries();
  }

  idle(timeoutMs: number): Promise<IdleResult> {
    return this.dispatcher.idle(timeoutMs);
  }

  reset(): void {
    this.dispatcher.reset();
  }

  onModuleDestroy(): void {
    this.dispatcher.close();
  }

  private request(body: unknown, auth: NotifyAuthMode): OutgoingWebhook {
    const headers: Record<string, string> = {};
    if (auth !== 'missing') {
      headers.authorization = this.basicAuth(auth === 'valid');
    }
    return { url: this.targetUrl, headers, body: JSON.stringify(body) };
  }

  private basicAuth(valid: boolean): string {
    const { notifyUsername, notifyPassword } = this.config.cleverbridge;
    const credentials = `${notifyUsername}:${valid ? notifyPassword : `not-${notifyPassword}`}`;
    if (this.validAuth?.credentials === credentials) {
      return this.validAuth.header;
    }
    const header = `Basic ${Buffer.from(credentials).toString('base64')}`;
    if (valid) {
      this.validAuth = { credentials, header };
    }
    return header;
  }
}
