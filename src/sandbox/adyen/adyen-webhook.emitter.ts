import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { SandboxFaults } from '../faults/sandbox-faults';
import {
  DeliveryRecord,
  IdleResult,
  OutgoingWebhook,
  WebhookAnswer,
  WebhookDispatcher,
} from '../webhooks/webhook-dispatcher';
import { AdyenAmount } from './adyen-api.types';
import { signAdyenItem } from './adyen-hmac';
import { AdyenSandboxEvent, AdyenSandboxStore } from './adyen-sandbox.store';
import { SANDBOX_SECRETS } from '../../config/config.factory';

export type SignatureMode = 'valid' | 'invalid' | 'missing';

/** A standard-webhook NotificationRequestItem as Adyen sends it (Webhooks-v1.json). */
export interface AdyenNotificationItem {
  additionalData: Record<string, string>;
  amount: AdyenAmount;
  eventCode: string;
  eventDate: string;
  merchantAccountCode: string;
  merchantReference: string;
  originalReference?: string;
  paymentMethod?: string;
  pspReference: string;
  reason?: string;
  /** a string, as Adyen sends it */
  success: 'true' | 'false';
}

export interface AdyenNotificationRequest<I = AdyenNotificationItem> {
  live: 'true' | 'false';
  notificationItems: { NotificationRequestItem: I }[];
}

export interface AdyenWebhookMeta {
  eventCode: string;
  pspReference: string;
  originalReference?: string;
  merchantReference: string;
  success: string;
  /** the body exactly as sent */
  notification: unknown;
}

export type AdyenWebhookDelivery = DeliveryRecord<AdyenWebhookMeta>;

/** The store's event as a NotificationRequestItem, signed with `hexKey` (additionalData.hmacSignature). */
export function toNotificationItem(event: AdyenSandboxEvent, hexKey: string): AdyenNotificationItem {
  const unsigned: AdyenNotificationItem = {
    additionalData: { ...event.additionalData },
    amount: { value: event.amount.value, currency: event.amount.currency },
    eventCode: event.eventCode,
    eventDate: event.eventDate,
    merchantAccountCode: event.merchantAccountCode,
    merchantReference: event.merchantReference,
    ...(event.originalReference !== undefined ? { originalReference: event.originalReference } : {}),
    ...(event.paymentMethod !== undefined ? { paymentMethod: event.paymentMethod } : {}),
    pspReference: event.pspReference,
    ...(event.reason !== undefined ? { reason: event.reason } : {}),
    success: event.success ? 'true' : 'false',
  };
  return {
    ...unsigned,
    additionalData: { ...unsigned.additionalData, hmacSignature: signAdyenItem(unsigned, hexKey) },
  };
}

/** A different key of the same length: signatures that look right and are wrong. */
function wrongKey(hexKey: string): string {
  return hexKey
    .split('')
    .map((c) => (parseInt(c, 16) ^ 0xf).toString(16))
    .join('');
}

function text(value: unknown): string {
  return typeof value === 'string'
    ? value
    : value === undefined || value === null
      ? ''
      : JSON.stringify(value);
}

/**
 * Sends every event the Adyen emulator records to `${PUBLIC_URL}/webhooks/adyen` as a standard notification
 * (`{live:'false', notificationItems:[{NotificationRequestItem}]}`, one item each), HMAC-signed per item.
 * Delivery starts shortly after the API answer, retries until a 2xx (200 ms, 1 s, 3 s here; Adyen: 9/18/27 s)
 * and then gives up; SandboxFaults('adyen') may lose a notification or send it twice; pause() holds them.
 */
@Injectable()
export class AdyenWebhookEmitter implements OnModuleInit, OnModuleDestroy {
  readonly dispatcher: WebhookDispatcher<AdyenWebhookMeta>;
  private unsubscribe: (() => void) | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly faults: SandboxFaults,
    private readonly store: AdyenSandboxStore,
  ) {
    this.dispatcher = new WebhookDispatcher('adyen', () => store.now());
  }

  get targetUrl(): string {
    return `${this.config.publicUrl}/webhooks/adyen`;
  }

  onModuleInit(): void {
    this.unsubscribe = this.store.onEvent((event) => {
      this.notify(event);
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    this.dispatcher.close();
  }

  /** Queues one notification for the event; returns its log entries. */
  notify(event: AdyenSandboxEvent): AdyenWebhookDelivery[] {
    const item = toNotificationItem(event, SANDBOX_SECRETS.adyenHmacKey);
    const notification: AdyenNotificationRequest = {
      live: 'false',
      notificationItems: [{ NotificationRequestItem: item }],
    };
    return this.dispatcher.dispatch(
      this.meta(item, notification),
      this.request(notification),
      this.faults.webhookCopies('adyen'),
    );
  }

  /**
   * Test route: the items as given (nothing checked, so malformed ones can be tried), each signed as asked,
   * sent once now; the app's answer comes back.
   */
  sendNow(
    items: Record<string, unknown>[],
    signature: SignatureMode,
    live: 'true' | 'false' = 'false',
  ): Promise<WebhookAnswer> {
    const key = SANDBOX_SECRETS.adyenHmacKey;
    const signed = items.map((item) => {
      const additionalData =
        typeof item.additionalData === 'object' && item.additionalData !== null
          ? { ...(item.additionalData as Record<string, unknown>) }
          : {};
      delete additionalData.hmacSignature;
      if (signature !== 'missing') {
        additionalData.hmacSignature = signAdyenItem(item, signature === 'valid' ? key : wrongKey(key));
      }
      return { ...item, additionalData };
    });
    const notification: AdyenNotificationRequest<Record<string, unknown>> = {
      live,
      notificationItems: signed.map((NotificationRequestItem) => ({ NotificationRequestItem })),
    };
    const first: Record<string, unknown> = signed[0] ?? {};
    return this.dispatcher.sendOnce(
      {
        eventCode: text(first.eventCode),
        pspReference: text(first.pspReference),
        merchantReference: text(first.merchantReference),
        success: text(first.success),
        notification,
      },
      this.request(notification),
    );
  }

  pause(): void {
    this.dispatcher.pause();
  }

  resume(): void {
    this.dispatcher.resume();
  }

  isPaused(): boolean {
    return this.dispatcher.isPaused();
  }

  deliveries(): AdyenWebhookDelivery[] {
    return this.dispatcher.deliveries();
  }

  idle(timeoutMs: number): Promise<IdleResult> {
    return this.dispatcher.idle(timeoutMs);
  }

  reset(): void {
    this.dispatcher.reset();
  }

  private meta(item: AdyenNotificationItem, notification: AdyenNotificationRequest): AdyenWebhookMeta {
    return {
      eventCode: item.eventCode,
      pspReference: item.pspReference,
      ...(item.originalReference !== undefined ? { originalReference: item.originalReference } : {}),
      merchantReference: item.merchantReference,
      success: item.success,
      notification,
    };
  }

  private request(notification: unknown): OutgoingWebhook {
    return { url: this.targetUrl, headers: {}, body: JSON.stringify(notification) };
  }
}
