import { createHmac, hash } from 'node:crypto';
import { constantTimeEqual } from '../common/crypto/constant-time';
import { stableStringify } from '../common/idempotency/idempotency.service';
import type { IncomingEvent } from '../inbox/inbox.service';
import { WebhookMalformedError, WebhookUnauthenticatedError } from '../inbox/webhook.errors';
import type { AppConfig } from '../config/app-config';
import { jsonNestingDepth, MAX_JSON_DEPTH } from '../common/http/json-depth';
import { CLEENG_TOPICS } from './cleeng-webhook.types';

/** Cleeng's own documents spell topics both ways (`PaymentDetailsDeactivated`): match without case. */
export function canonicalCleengTopic(topic: string): string {
  const lower = topic.toLowerCase();
  return CLEENG_TOPICS.find((known) => known.toLowerCase() === lower) ?? topic;
}

/**
 * Verifies (lowercase hex HMAC-SHA256 of the exact raw body) and only then parses a Cleeng webhook.
 * Cleeng events carry no id: the natural key is the topic plus a hash of the canonical payload, so a
 * redelivery (same body) is a duplicate and a new dunning attempt (new dates) is not.
 */
export function parseCleengWebhook(
  headers: Record<string, string | string[] | undefined>,
  rawBody: Buffer,
  config: Pick<AppConfig['cleeng'], 'webhookSecret' | 'webhookSignatureHeader'>,
): IncomingEvent {
  const header = headers[config.webhookSignatureHeader];
  const signature = (Array.isArray(header) ? header[0] : header)?.trim().toLowerCase();
  const expected = createHmac('sha256', config.webhookSecret).update(rawBody).digest('hex');
  if (!signature || !constantTimeEqual(signature, expected)) {
    throw new WebhookUnauthenticatedError('Cleeng webhook signature invalid');
  }
  if (jsonNestingDepth(rawBody) > MAX_JSON_DEPTH) {
    throw new WebhookMalformedError(`body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new WebhookMalformedError('body is not JSON');
  }
  const { topic, data, broadcasterId } = (body ?? {}) as {
    topic?: unknown;
    data?: unknown;
    broadcasterId?: unknown;
  };
  if (typeof topic !== 'string' || topic.length === 0) {
    throw new WebhookMalformedError('topic is required');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new WebhookMalformedError('data must be an object');
  }
  const canonical = hash('sha256', stableStringify(data), 'hex');
  const eventType = canonicalCleengTopic(topic);
  return {
    eventKey: `${eventType}:${canonical}`,
    // unknown topics are stored too, and the router marks them ignored
    eventType,
    payload: { broadcasterId: broadcasterId ?? null, topic, data },
  };
}
