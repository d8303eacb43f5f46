import { randomUUID } from 'node:crypto';
import { getStorageToken } from '@nestjs/throttler';
import { DataSource } from 'typeorm';
import { WindowCounterThrottlerStorage } from '../src/rate-limit/window-counter.storage';
import { API_KEY, startTestApp, TestApp } from './support/test-app';
import { newCustomerId, purchase } from './support/flows';

const SECOND_API_KEY = 'second-client-key';

async function customerToken(app: TestApp, customerId: string): Promise<string> {
  const res = await app.http.post('/sandbox/auth/token').send({ customerId });
  return res.body.token as string;
}

describe('rate limits (per API key, customer and IP)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({
      API_KEYS: `${API_KEY},${SECOND_API_KEY}`,
      RATE_LIMIT_PER_MINUTE: '5',
      TOKENISE_RATE_LIMIT_PER_HOUR: '2',
    });
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers 429 with Retry-After and the standard error body once a caller is over its limit', async () => {
    const read = (headers: Record<string, string>) =>
      app.http.get(`/v1/payments/${randomUUID()}`).set(headers);
    for (let i = 0; i < 5; i += 1) {
      expect((await read({ 'X-Api-Key': API_KEY })).status).toBe(404);
    }
    const limited = await read({ 'X-Api-Key': API_KEY });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ statusCode: 429, code: 'RATE_LIMITED', message: expect.any(String) });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);

    // another API key and a customer have their own buckets
    expect((await read({ 'X-Api-Key': SECOND_API_KEY })).status).toBe(404);
    const token = await customerToken(app, newCustomerId());
    expect((await read({ Authorization: `Bearer ${token}` })).status).toBe(404);

    // unauthenticated callers are counted by IP (and cannot dodge it with made-up keys)
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      statuses.push((await read({ 'X-Api-Key': `guess-${i}` })).status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('counts per caller and window, not per hit: a request costs the same whatever the limit', () => {
    // @nestjs/throttler's default storage kept every hit's expiry and filtered that list on each request
    expect(app.app.get(getStorageToken())).toBeInstanceOf(WindowCounterThrottlerStorage);
  });

  it('does not throttle health, metrics, webhooks or the sandbox', async () => {
    for (let i = 0; i < 8; i += 1) {
      expect((await app.http.get('/health')).status).toBe(200);
      expect((await app.http.get('/metrics')).status).toBe(200);
      expect((await app.http.post('/webhooks/cleeng').send({})).status).not.toBe(429);
      expect((await app.http.get('/sandbox/cleeng/state')).status).toBe(200);
    }
  });

  it('limits zero-amount tokenisation more strictly (card testing)', async () => {
    const token = await customerToken(app, newCustomerId());
    const tokenise = () =>
      app.http.post('/v1/payment-details').set('Authorization', `Bearer ${token}`).send({});
    expect((await tokenise()).status).toBe(400);
    expect((await tokenise()).status).toBe(400);
    const limited = await tokenise();
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(60);
  });
});

describe('hardening: headers, docs switch, database timeouts', () => {
  it('sets security headers (helmet) and can switch /docs off', async () => {
    const app = await startTestApp({ DOCS_ENABLED: 'false' });
    try {
      const res = await app.http.get('/health');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect((await app.http.get('/docs-json')).status).toBe(404);
      expect((await app.http.get('/docs')).status).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('starts with a statement timeout and a connection timeout (enforced on PostgreSQL)', async () => {
    const app = await startTestApp({
      DATABASE_STATEMENT_TIMEOUT_MS: '500',
      DATABASE_CONNECT_TIMEOUT_MS: '5000',
    });
    try {
      expect((await app.http.get('/health/ready')).status).toBe(200);
      if (process.env.E2E_DATABASE !== 'embedded') {
        // PGlite does not enforce statement_timeout (docs/embedded-database.md)
        const db = app.app.get(DataSource);
        await expect(db.query('SELECT pg_sleep(2)')).rejects.toThrow(/statement timeout/);
      }
    } finally {
      await app.close();
    }
  });
});

describe('bounded amounts: out-of-range input is a 400 with a field, never a 500', () => {
  let app: TestApp;

  beforeAll(async () => {
    // a slow shared machine must not turn the approve card's capture into an unknown outcome
    app = await startTestApp({ GATEWAY_TIMEOUT_MS: '10000' });
  });
  afterAll(async () => {
    await app.close();
  });

  function expectFieldError(
    res: { status: number; body: { code?: string; details?: unknown } },
    field: string,
  ) {
    expect({ field, status: res.status, code: res.body.code, body: res.body }).toMatchObject({
      field,
      status: 400,
      code: 'VALIDATION_FAILED',
    });
    expect(JSON.stringify(res.body.details)).toContain(field);
  }

  it('refund amounts', async () => {
    const { payment } = await purchase(app);
    // raw JSON: numbers past 2^53 must reach the server as written
    const refund = (amountJson: string, extra = '') =>
      app.http
        .post('/v1/refunds')
        .set('X-Api-Key', API_KEY)
        .set('Content-Type', 'application/json')
        .send(`{"paymentId":"${payment.id}","amount":${amountJson}${extra}}`);
    expectFieldError(await refund('{"value":9007199254740993,"currency":"USD"}'), 'amount');
    expectFieldError(await refund('{"value":1e300,"currency":"USD"}'), 'amount');
    expectFieldError(await refund('{"value":1.5,"currency":"USD"}'), 'amount');
    expectFieldError(
      await refund('{"value":100,"currency":"USD"}', `,"reason":"${'x'.repeat(100_000)}"`),
      'reason',
    );
    const ok = await refund('{"value":100,"currency":"USD"}');
    expect(ok.status).toBe(201);
  });

  it('purchase totals: quantity x price overflow and huge prices', async () => {
    const buy = (items: unknown[]) =>
      app.http
        .post('/v1/purchases')
        .set('X-Api-Key', API_KEY)
        .set('Idempotency-Key', randomUUID())
        .send({ customer: { customerReferenceId: 'cust-4711' }, items });
    expectFieldError(
      await buy([
        {
          productId: '200001',
          quantity: 10_000,
          dynamicPrice: { value: Number.MAX_SAFE_INTEGER, currency: 'USD' },
        },
      ]),
      'items',
    );
    expectFieldError(
      await buy([
        // each line is exact, their sum is not
        { productId: '200001', quantity: 10_000, dynamicPrice: { value: 500_000_000_000, currency: 'USD' } },
        { productId: '200002', quantity: 10_000, dynamicPrice: { value: 500_000_000_000, currency: 'USD' } },
      ]),
      'items',
    );
    expectFieldError(
      await buy([
        { productId: '200001', quantity: 1, dynamicPrice: { value: 100, currency: 'USD' } },
        { productId: '200002', quantity: 1, dynamicPrice: { value: 100, currency: 'EUR' } },
      ]),
      'items',
    );
  });

  it('subscription amounts', async () => {
    const create = (amount: unknown) =>
      app.http
        .post('/v1/subscriptions')
        .set('X-Api-Key', API_KEY)
        .send({
          customerId: `cust-${randomUUID()}`,
          gateway: 'cleverbridge',
          productId: '100001',
          externalSubscriptionId: `S-none-${randomUUID()}`,
          amount,
          interval: 'P1M',
          nextBillingAt: '2030-01-01T00:00:00Z',
        });
    expectFieldError(await create({ value: Number.MAX_SAFE_INTEGER + 2, currency: 'USD' }), 'amount');
    expectFieldError(await create({ value: 9.99, currency: 'USD' }), 'amount');
  });
});
