import { createHmac } from 'node:crypto';

/**
 * The fields of a NotificationRequestItem that Adyen's HMAC covers. Typed loosely on purpose: test routes sign
 * deliberately odd items too, and every value signs as JavaScript's Array.join would render it (missing -> '').
 */
export interface AdyenHmacFields {
  pspReference?: unknown;
  originalReference?: unknown;
  merchantAccountCode?: unknown;
  merchantReference?: unknown;
  amount?: unknown;
  eventCode?: unknown;
  success?: unknown;
}

/** Exactly how Array.prototype.join renders a value (what @adyen/api-library's signer does). */
function field(value: unknown): string {
  return [value].join('');
}

function amountField(amount: unknown, name: 'value' | 'currency'): unknown {
  return typeof amount === 'object' && amount !== null
    ? (amount as Record<string, unknown>)[name]
    : undefined;
}

/**
 * Adyen's standard-webhook signing string: pspReference, originalReference, merchantAccountCode,
 * merchantReference, amount.value, amount.currency, eventCode, success, joined by ':' (external-apis.md
 * "HMAC signature"). Written independently of @adyen/api-library so the two implementations check each other.
 */
export function adyenHmacPayload(item: AdyenHmacFields): string {
  return [
    field(item.pspReference),
    field(item.originalReference),
    field(item.merchantAccountCode),
    field(item.merchantReference),
    field(amountField(item.amount, 'value')),
    field(amountField(item.amount, 'currency')),
    field(item.eventCode),
    field(item.success),
  ].join(':');
}

/** Base64 HMAC-SHA256 of `payload` (UTF-8) with the hex-encoded key from the Customer Area. */
export function adyenHmacSignature(payload: string, hexKey: string): string {
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hexKey)) {
    throw new Error('Adyen HMAC key must be a hex string');
  }
  return createHmac('sha256', Buffer.from(hexKey, 'hex')).update(payload, 'utf8').digest('base64');
}

export function signAdyenItem(item: AdyenHmacFields, hexKey: string): string {
  return adyenHmacSignature(adyenHmacPayload(item), hexKey);
}
