import { createHmac } from 'node:crypto';
import { WebhookMalformedError, WebhookUnauthenticatedError } from '../inbox/webhook.errors';
import { parseCleengWebhook } from './cleeng-webhook.parser';

const config = { webhookSecret: 'secret-of-at-least-16-bytes', webhookSignatureHeader: 'x-cleeng-signature' };
const sign = (body: string, secret = config.webhookSecret): string =>
  createHmac('sha256', secret).update(body).digest('hex');

describe('parseCleengWebhook', () => {
  const body = JSON.stringify({
    broadcasterId: 1,
    topic: 'refundPayment',
    data: { paymentId: 5, amount: 1.5 },
  });

  it('verifies the HMAC of the exact raw bytes before parsing', () => {
    const event = parseCleengWebhook({ 'x-cleeng-signature': sign(body) }, Buffer.from(body), config);
    expect(event).toMatchObject({
      eventType: 'refundPayment',
      payload: { topic: 'refundPayment', data: { paymentId: 5 } },
    });
    // uppercase hex is the same signature
    expect(() =>
      parseCleengWebhook({ 'x-cleeng-signature': sign(body).toUpperCase() }, Buffer.from(body), config),
    ).not.toThrow();
  });

  it('refuses wrong, missing or foreign-secret signatures and any change of the body', () => {
    expect(() => parseCleengWebhook({}, Buffer.from(body), config)).toThrow(WebhookUnauthenticatedError);
    expect(() =>
      parseCleengWebhook({ 'x-cleeng-signature': sign(body, 'other-secret') }, Buffer.from(body), config),
    ).toThrow(WebhookUnauthenticatedError);
    const tampered = body.replace('1.5', '150');
    expect(() =>
      parseCleengWebhook({ 'x-cleeng-signature': sign(body) }, Buffer.from(tampered), config),
    ).toThrow(WebhookUnauthenticatedError);
  });

  it('rejects authentic but malformed bodies', () => {
    for (const bad of ['not json', '{"data":{}}', '{"topic":"x","data":[1]}', '{"topic":"","data":{}}']) {
      expect(() => parseCleengWebhook({ 'x-cleeng-signature': sign(bad) }, Buffer.from(bad), config)).toThrow(
        WebhookMalformedError,
      );
    }
  });

  it('keys events by topic and canonical data: redeliveries collide, new attempts do not', () => {
    const a = parseCleengWebhook({ 'x-cleeng-signature': sign(body) }, Buffer.from(body), config);
    const reordered = JSON.stringify({
      topic: 'refundPayment',
      data: { amount: 1.5, paymentId: 5 },
      broadcasterId: 1,
    });
    const b = parseCleengWebhook({ 'x-cleeng-signature': sign(reordered) }, Buffer.from(reordered), config);
    expect(b.eventKey).toBe(a.eventKey);
    const other = JSON.stringify({ topic: 'refundPayment', data: { paymentId: 5, amount: 2 } });
    expect(
      parseCleengWebhook({ 'x-cleeng-signature': sign(other) }, Buffer.from(other), config).eventKey,
    ).not.toBe(a.eventKey);
  });
});
