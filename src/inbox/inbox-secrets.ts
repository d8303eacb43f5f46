import type { TokenCipher } from '../common/crypto/token-cipher';

/**
 * Keys whose string values are recurring tokens wherever they appear in a webhook payload: the
 * normalised gateway event's `token`, Cleeng's `data.token`, and Adyen's names for the same thing.
 */
const SECRET_KEYS = new Set([
  'token',
  'recurringToken',
  'storedPaymentMethodId',
  'recurringDetailReference',
  'recurring.recurringDetailReference',
  'tokenization.storedPaymentMethodId',
]);

/** A sealed value in a stored payload: `{ "$sealed": "v1.<iv>.<tag>.<ciphertext>" }`. */
interface SealedValue {
  $sealed: string;
}

function isSealedValue(value: unknown): value is SealedValue {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.keys(value).length === 1 &&
    typeof (value as { $sealed?: unknown }).$sealed === 'string'
  );
}

function mapSecrets(value: unknown, replace: (key: string, value: unknown) => unknown): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => mapSecrets(item, replace));
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([key, item]) => {
        const replaced = replace(key, item);
        return [key, replaced === item ? mapSecrets(item, replace) : replaced];
      }),
    );
  }
  return value;
}

function mapStrings(value: unknown, replace: (text: string) => string): unknown {
  if (typeof value === 'string') {
    return replace(value);
  }
  if (Array.isArray(value)) {
    return value.map((item) => mapStrings(item, replace));
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([key, item]) => [
        key,
        isSealedValue(item) ? item : mapStrings(item, replace),
      ]),
    );
  }
  return value;
}

/** Whether sealing would replace anything: a non-empty string under a secret key, at any depth. */
function containsSecret(value: unknown): boolean {
  if (Array.isArray(value)) {
    return value.some(containsSecret);
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      if (SECRET_KEYS.has(key) ? typeof item === 'string' && item.length > 0 : containsSecret(item)) {
        return true;
      }
    }
  }
  return false;
}

/**
 * Seals every token in a webhook payload before it is stored, and replaces any token inside the
 * event's natural key (and any other string) with its keyed fingerprint, so the key still
 * deduplicates redeliveries without holding the token. An event without a token is returned as it is (most
 * notifications carry none; the two copying walks below were a few per cent of the intake's CPU).
 */
export function sealWebhookSecrets<E extends { eventKey: string; payload: Record<string, unknown> }>(
  cipher: TokenCipher,
  event: E,
): E | { eventKey: string; payload: Record<string, unknown> } {
  if (!containsSecret(event.payload)) {
    return event;
  }
  const secrets: string[] = [];
  const sealed = mapSecrets(event.payload, (key, value) => {
    if (SECRET_KEYS.has(key) && typeof value === 'string' && value.length > 0) {
      secrets.push(value);
      return { $sealed: cipher.encrypt(value) } satisfies SealedValue;
    }
    return value;
  });
  // the token may also be part of an id (Adyen's RECURRING_CONTRACT uses it as pspReference)
  // (a very short value cannot be a real token and must not rewrite unrelated text); each token's fingerprint is
  // taken once, not once per string of the payload (an HMAC each: ~40 per Adyen notification)
  const replacements = [...new Set(secrets)]
    .filter((secret) => secret.length >= 8)
    .map((secret) => [secret, `fp:${cipher.fingerprint(secret)}`] as const);
  const fingerprinted = (text: string): string =>
    replacements.reduce(
      (out, [secret, fingerprint]) => (out.includes(secret) ? out.split(secret).join(fingerprint) : out),
      text,
    );
  const payload = mapStrings(sealed, fingerprinted) as Record<string, unknown>;
  const eventKey = fingerprinted(event.eventKey);
  return { eventKey, payload };
}

/** The payload as it was received, for the handler that processes it. */
export function unsealWebhookSecrets(
  cipher: TokenCipher,
  payload: Record<string, unknown>,
): Record<string, unknown> {
  return mapSecrets(payload, (_key, value) =>
    isSealedValue(value) ? cipher.decrypt(value.$sealed) : value,
  ) as Record<string, unknown>;
}

/** The payload as an operator may see it: sealed values shown as a marker, not as ciphertext. */
export function redactWebhookSecrets(payload: Record<string, unknown>): Record<string, unknown> {
  return mapSecrets(payload, (key, value) =>
    isSealedValue(value) || (SECRET_KEYS.has(key) && typeof value === 'string') ? '[sealed]' : value,
  ) as Record<string, unknown>;
}
