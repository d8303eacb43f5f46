import { CLEENG_WEBHOOK_TOPICS } from './cleeng-webhook.payloads';
import { fail, Outcome, succeed } from './cleeng-sandbox.types';

/**
 * `PUT /3.1/webhook_subscriptions/{topic}` and `GET /3.1/webhook_subscriptions` (Cleeng's webhook settings):
 * a topic holds a list of endpoint objects, and a PUT replaces the whole list ("be careful not to override").
 * An endpoint: `url`, optional `filters` (only `paymentMethodId`: `{name, options: {value}}`), optional
 * `verification` (only `{name: 'HMAC', options: {hashAlg: 'SHA256', sharedSecret}}`, secret 16–64 bytes),
 * optional `retryPolicy` (kept as given: its schema is not documented). The emulator knows the six connector
 * topics. It stores what was set; its own deliveries go to the connector's route whatever is stored.
 */
export interface WebhookEndpointRecord {
  url: string;
  filters?: { name: 'paymentMethodId'; options: { value: number } }[];
  verification?: { name: 'HMAC'; options: { hashAlg: 'SHA256'; sharedSecret: string } };
  retryPolicy?: Record<string, unknown>;
}

const ENDPOINT_FIELDS = ['url', 'filters', 'verification', 'retryPolicy'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseEndpoint(raw: unknown, at: string): WebhookEndpointRecord | string {
  if (!isRecord(raw)) {
    return `${at}: must be an object`;
  }
  const unknown = Object.keys(raw).find((k) => !ENDPOINT_FIELDS.includes(k));
  if (unknown !== undefined) {
    return `${at}.${unknown}: unknown field`;
  }
  let url: URL;
  try {
    url = new URL(String(raw.url));
  } catch {
    return `${at}.url: must be an absolute http(s) URL`;
  }
  if (typeof raw.url !== 'string' || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    return `${at}.url: must be an absolute http(s) URL`;
  }
  const endpoint: WebhookEndpointRecord = { url: raw.url };
  if (raw.filters !== undefined) {
    if (!Array.isArray(raw.filters)) {
      return `${at}.filters: must be an array`;
    }
    const filters: NonNullable<WebhookEndpointRecord['filters']> = [];
    for (const [i, f] of raw.filters.entries()) {
      const value = isRecord(f) && isRecord(f.options) ? f.options.value : undefined;
      if (!isRecord(f) || f.name !== 'paymentMethodId') {
        return `${at}.filters[${i}].name: only paymentMethodId is supported`;
      }
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
        return `${at}.filters[${i}].options.value: must be a payment method id`;
      }
      filters.push({ name: 'paymentMethodId', options: { value } });
    }
    endpoint.filters = filters;
  }
  if (raw.verification !== undefined) {
    const v = raw.verification;
    const options = isRecord(v) && isRecord(v.options) ? v.options : undefined;
    if (!isRecord(v) || v.name !== 'HMAC') {
      return `${at}.verification.name: only HMAC is supported`;
    }
    if (!options || options.hashAlg !== 'SHA256') {
      return `${at}.verification.options.hashAlg: only SHA256 is supported`;
    }
    const secret = options.sharedSecret;
    const bytes = typeof secret === 'string' ? Buffer.byteLength(secret, 'utf8') : 0;
    if (typeof secret !== 'string' || bytes < 16 || bytes > 64) {
      return `${at}.verification.options.sharedSecret: must be 16 to 64 bytes`;
    }
    endpoint.verification = { name: 'HMAC', options: { hashAlg: 'SHA256', sharedSecret: secret } };
  }
  if (raw.retryPolicy !== undefined) {
    if (!isRecord(raw.retryPolicy)) {
      return `${at}.retryPolicy: must be an object`;
    }
    endpoint.retryPolicy = { ...raw.retryPolicy };
  }
  return endpoint;
}

export class CleengWebhookSubscriptions {
  private byTopic = new Map<string, WebhookEndpointRecord[]>();

  /** The whole list of the topic is replaced by the body (an array of endpoint objects). */
  put(topic: string, body: unknown): Outcome<WebhookEndpointRecord[]> {
    if (!(CLEENG_WEBHOOK_TOPICS as readonly string[]).includes(topic)) {
      return fail(404, `Topic ${topic} not found`);
    }
    if (!Array.isArray(body)) {
      return fail(400, 'body: must be an array of webhook endpoints');
    }
    const endpoints: WebhookEndpointRecord[] = [];
    for (const [i, raw] of body.entries()) {
      const parsed = parseEndpoint(raw, `[${i}]`);
      if (typeof parsed === 'string') {
        return fail(400, parsed);
      }
      endpoints.push(parsed);
    }
    this.byTopic.set(topic, endpoints);
    return succeed(endpoints.map((e) => structuredClone(e)));
  }

  /** Every topic with at least one endpoint. */
  list(): { topic: string; endpoints: WebhookEndpointRecord[] }[] {
    return [...this.byTopic.entries()]
      .filter(([, endpoints]) => endpoints.length > 0)
      .map(([topic, endpoints]) => ({ topic, endpoints: endpoints.map((e) => structuredClone(e)) }));
  }

  reset(): void {
    this.byTopic = new Map();
  }
}
