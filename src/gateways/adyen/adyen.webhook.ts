import { hmacValidator as HmacValidator } from '@adyen/api-library';
import { WebhookMalformedError, WebhookUnauthenticatedError } from '../../inbox/webhook.errors';
import { GatewayEvent, GatewayEventType } from '../gateway.provider';
import { mapRefusal, normaliseExpiry } from './adyen.mapper';
import { jsonNestingDepth, MAX_JSON_DEPTH } from '../../common/http/json-depth';
import { AdyenEventCode, AdyenNotificationItem, AdyenNotificationSuccess } from './adyen.types';

const validator = new HmacValidator();

/**
 * Parses `{live, notificationItems: [{NotificationRequestItem}]}` and verifies every item's HMAC
 * with @adyen/api-library before anything is used. One bad item rejects the batch (401): Adyen
 * retries the whole batch, and a forged item must not ride along with genuine ones.
 *
 * Items for another merchant account (a company-level webhook shares one endpoint between
 * accounts) are authentic but not ours: dropped here, so the batch is still acknowledged with
 * `[accepted]` (Adyen would otherwise retry it for up to 30 days and queue our own notifications
 * behind it) and nothing of another account's payments is stored or applied.
 */
export function parseAdyenNotification(
  rawBody: Buffer,
  hmacKeys: string[],
  merchantAccount?: string,
): GatewayEvent[] {
  if (jsonNestingDepth(rawBody) > MAX_JSON_DEPTH) {
    throw new WebhookMalformedError(`body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new WebhookMalformedError('body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new WebhookMalformedError('body must be a JSON object');
  }
  const items = (body as { notificationItems?: unknown }).notificationItems;
  if (!Array.isArray(items) || items.length === 0) {
    throw new WebhookMalformedError('notificationItems must be a non-empty array');
  }
  const parsed = items.map((wrapper, index) => {
    const item = (wrapper as { NotificationRequestItem?: unknown } | null)?.NotificationRequestItem;
    if (!isItem(item)) {
      throw new WebhookMalformedError(`notificationItems[${index}] is not a NotificationRequestItem`);
    }
    return item;
  });
  for (const item of parsed) {
    if (!item.additionalData?.hmacSignature) {
      throw new WebhookUnauthenticatedError('notification item without hmacSignature');
    }
    // accept the previous key during a rotation, as Adyen recommends
    const valid = hmacKeys.some((key) => {
      try {
        return validator.validateHMAC(item, key);
      } catch {
        return false;
      }
    });
    if (!valid) {
      throw new WebhookUnauthenticatedError('notification item HMAC signature invalid');
    }
  }
  return parsed
    .filter((item) => merchantAccount === undefined || item.merchantAccountCode === merchantAccount)
    .map(toEvent);
}

function isItem(value: unknown): value is AdyenNotificationItem {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const v = value as Record<string, unknown>;
  const amount = v.amount as Record<string, unknown> | undefined;
  return (
    typeof v.pspReference === 'string' &&
    typeof v.eventCode === 'string' &&
    typeof v.merchantAccountCode === 'string' &&
    typeof v.merchantReference === 'string' &&
    (v.success === AdyenNotificationSuccess.True || v.success === AdyenNotificationSuccess.False) &&
    typeof amount === 'object' &&
    amount !== null &&
    typeof amount.value === 'number' &&
    typeof amount.currency === 'string'
  );
}

function typeOf(item: AdyenNotificationItem): GatewayEventType {
  const ok = item.success === AdyenNotificationSuccess.True;
  switch (item.eventCode) {
    case AdyenEventCode.Authorisation:
      return ok ? 'payment.authorised' : 'payment.refused';
    case AdyenEventCode.Capture:
      return ok ? 'capture.succeeded' : 'capture.failed';
    case AdyenEventCode.CaptureFailed:
      return 'capture.failed';
    case AdyenEventCode.Cancellation:
    case AdyenEventCode.TechnicalCancel:
      return ok ? 'cancel.succeeded' : 'cancel.failed';
    case AdyenEventCode.Refund:
      return ok ? 'refund.succeeded' : 'refund.failed';
    case AdyenEventCode.RefundFailed:
    case AdyenEventCode.RefundedReversed:
      return 'refund.failed';
    case AdyenEventCode.Chargeback:
      return ok ? 'chargeback' : 'ignored';
    case AdyenEventCode.RecurringContract:
      return ok ? 'token.created' : 'ignored';
    default:
      return 'ignored';
  }
}

function toEvent(item: AdyenNotificationItem): GatewayEvent {
  const type = typeOf(item);
  const modification =
    item.eventCode !== AdyenEventCode.Authorisation && item.eventCode !== AdyenEventCode.RecurringContract;
  const data = item.additionalData ?? {};
  const token = data['tokenization.storedPaymentMethodId'] ?? data['recurring.recurringDetailReference'];
  const event: GatewayEvent = {
    // Adyen may send the same item more than once; pspReference + eventCode + success identifies it
    eventKey: `${item.pspReference}:${item.eventCode}:${item.success}`,
    type,
    rawType: item.eventCode,
    reference: item.merchantReference,
    externalPaymentId: modification ? (item.originalReference ?? item.pspReference) : item.pspReference,
    amount: { value: item.amount.value, currency: item.amount.currency },
    ...(modification ? { externalModificationId: item.pspReference } : {}),
    ...(item.reason ? { reason: item.reason } : {}),
    ...(item.eventDate ? { occurredAt: item.eventDate } : {}),
  };
  if (type === 'payment.refused') {
    event.decline = mapRefusal(data.refusalReasonCode, item.reason);
  }
  if (item.eventCode === AdyenEventCode.RecurringContract) {
    // the item's pspReference is the token; originalReference the payment that created it
    event.token = item.pspReference;
    event.externalPaymentId = item.originalReference ?? data.originalPsp;
  } else if (token) {
    event.token = token;
  }
  if (type === 'payment.authorised') {
    event.card = {
      ...((data.paymentMethod ?? item.paymentMethod)
        ? { variant: data.paymentMethod ?? item.paymentMethod }
        : {}),
      ...(data.cardSummary ? { lastCardFourDigits: data.cardSummary } : {}),
      ...(data.expiryDate ? { cardExpirationDate: normaliseExpiry(data.expiryDate) } : {}),
      ...(data.cardHolderName ? { holderName: data.cardHolderName } : {}),
    };
  }
  return event;
}
