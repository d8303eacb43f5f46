import { createHmac } from 'node:crypto';
import { DataSource } from 'typeorm';
import { signAdyenItem } from '../sandbox/adyen/adyen-hmac';
import { SANDBOX_SECRETS } from '../sandbox/sandbox-settings';
import { API_KEY, startTestApp, TestApp } from './support/test-app';

/**
 * Inputs `npm run test:fuzz` found answered with a 5xx (issue 8, Proof): each must be a 4xx with a message.
 */
const OPERATOR_KEY = SANDBOX_SECRETS.operatorKey;
const cleengSignature = (body: string): string =>
  createHmac('sha256', SANDBOX_SECRETS.cleengWebhookSecret).update(body).digest('hex');
const cleverbridgeAuth = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

const nestedArrays = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

describe('fuzz regressions', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp();
  });

  afterAll(async () => {
    await app.close();
  });

  it.each([
    ['/ops/outbox/replay', { 'X-Operator-Key': OPERATOR_KEY }, `{"all":${nestedArrays(2000)}}`],
    ['/v1/orders', { 'X-Api-Key': API_KEY }, `{"customerId":${nestedArrays(2000)}}`],
    [
      '/v1/payments',
      { 'X-Api-Key': API_KEY, 'Idempotency-Key': 'k1' },
      `{"paymentMethod":${nestedArrays(5000)}}`,
    ],
  ])('answers a deeply nested JSON body to POST %s with 400', async (path, headers, body) => {
    const res = await app.http.post(path).set(headers).set('Content-Type', 'application/json').send(body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, code: 'MALFORMED_REQUEST' });
    expect(String(res.body.message)).toMatch(/nest/i);
  });

  async function inboxCount(): Promise<number> {
    const [row] = await app.app
      .get(DataSource)
      .query<{ n: number }[]>('SELECT count(*)::int AS n FROM inbox_events');
    return row?.n ?? -1;
  }

  it.each([
    ['a NUL character', '{"broadcasterId":"\\u0000","topic":"refundPayment","data":{"paymentId":1}}'],
    ['an unpaired surrogate', '{"broadcasterId":1,"topic":"refundPayment","data":{"reason":"\\ud800"}}'],
    ['a NUL character in the topic', '{"broadcasterId":1,"topic":"x\\u0000","data":{}}'],
    [
      'a deeply nested field',
      `{"broadcasterId":1,"topic":"subscriptionReadyForPaymentAuthorisation","data":{"paymentMethodId":${nestedArrays(5000)}}}`,
    ],
  ])('answers a validly signed Cleeng webhook with %s 400 and stores nothing', async (_what, body) => {
    const before = await inboxCount();
    const res = await app.http
      .post('/webhooks/cleeng')
      .set('Content-Type', 'application/json')
      .set('X-Cleeng-Signature', cleengSignature(body))
      .send(body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'WEBHOOK_MALFORMED' });
    expect(await inboxCount()).toBe(before);
  });

  it.each(['null', '1', '"text"', '[]'])('answers an Adyen webhook body %s with 400', async (body) => {
    const res = await app.http.post('/webhooks/adyen').set('Content-Type', 'application/json').send(body);
    expect(res.status).toBe(400);
    // the route answers text/plain ("[accepted]"), so the error body arrives as text
    expect(res.text).toContain('WEBHOOK_MALFORMED');
  });

  it('answers a validly signed Adyen item carrying a NUL character 400 and stores nothing', async () => {
    const item: Record<string, unknown> = {
      pspReference: 'FUZZ000000000001',
      merchantAccountCode: SANDBOX_SECRETS.adyenMerchantAccount,
      merchantReference: 'ref\u0000',
      amount: { value: 999, currency: 'USD' },
      eventCode: 'AUTHORISATION',
      eventDate: '2026-12-01T12:00:00+01:00',
      success: 'true',
    };
    item.additionalData = { hmacSignature: signAdyenItem(item, SANDBOX_SECRETS.adyenHmacKey) };
    const before = await inboxCount();
    const res = await app.http
      .post('/webhooks/adyen')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ live: 'false', notificationItems: [{ NotificationRequestItem: item }] }));
    expect(res.status).toBe(400);
    expect(await inboxCount()).toBe(before);
  });

  it('verifies Cleverbridge credentials before reading the body: an empty body with bad credentials is 401', async () => {
    const res = await app.http
      .post('/webhooks/cleverbridge')
      .set('Authorization', cleverbridgeAuth('', ''))
      .set('Content-Type', 'application/json');
    expect(res.status).toBe(401);
    const good = await app.http
      .post('/webhooks/cleverbridge')
      .set(
        'Authorization',
        cleverbridgeAuth(
          SANDBOX_SECRETS.cleverbridgeNotifyUsername,
          SANDBOX_SECRETS.cleverbridgeNotifyPassword,
        ),
      )
      .set('Content-Type', 'application/json');
    expect(good.status).toBe(400);
  });
});
