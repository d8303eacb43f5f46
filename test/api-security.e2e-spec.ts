import { randomUUID } from 'node:crypto';
import { API_KEY, startTestApp, TestApp } from './support/test-app';
import { CARDS, card, createOrder, newCustomerId, OFFERS, pay } from './support/flows';

async function customerToken(app: TestApp, customerId: string, expiresInSeconds?: number): Promise<string> {
  const res = await app.http
    .post('/sandbox/auth/token')
    .send({ customerId, ...(expiresInSeconds ? { expiresInSeconds } : {}) });
  return res.body.token as string;
}

describe('API security and bad input', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('refuses calls without credentials or with a wrong key (401)', async () => {
    const none = await app.http.get(`/v1/payments/${randomUUID()}`);
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ statusCode: 401, code: 'UNAUTHENTICATED' });
    const wrong = await app.http.get(`/v1/payments/${randomUUID()}`).set('X-Api-Key', 'nope');
    expect(wrong.status).toBe(401);
    const badJwt = await app.http.get(`/v1/payments/${randomUUID()}`).set('Authorization', 'Bearer a.b.c');
    expect(badJwt.status).toBe(401);
  });

  it('a customer token acts for its own customer only; others get 403 on create and 404 on read', async () => {
    const me = newCustomerId();
    const token = await customerToken(app, me);
    const mine = await app.http
      .post('/v1/orders')
      .set('Authorization', `Bearer ${token}`)
      .send({ customerId: me, offerId: OFFERS.monthlyUsd, currency: 'USD', country: 'US', gateway: 'adyen' });
    expect(mine.status).toBe(201);
    const paid = await app.http
      .post('/v1/payments')
      .set('Authorization', `Bearer ${token}`)
      .set('Idempotency-Key', randomUUID())
      .send({ orderId: mine.body.id, paymentMethod: card(CARDS.approve) });
    expect(paid.body.status).toBe('captured');

    const forOther = await app.http.post('/v1/orders').set('Authorization', `Bearer ${token}`).send({
      customerId: newCustomerId(),
      offerId: OFFERS.monthlyUsd,
      currency: 'USD',
      country: 'US',
      gateway: 'adyen',
    });
    expect(forOther.status).toBe(403);

    const otherOrder = await createOrder(app);
    const otherPayment = await pay(app, otherOrder.id);
    const peek = await app.http
      .get(`/v1/payments/${otherPayment.body.id}`)
      .set('Authorization', `Bearer ${token}`);
    expect(peek.status).toBe(404);
    const peekOrder = await app.http
      .get(`/v1/orders/${otherOrder.id}`)
      .set('Authorization', `Bearer ${token}`);
    expect(peekOrder.status).toBe(404);
    const payOther = await app.http
      .post('/v1/payments')
      .set('Authorization', `Bearer ${token}`)
      .set('Idempotency-Key', randomUUID())
      .send({ orderId: otherOrder.id, paymentMethod: card(CARDS.approve) });
    expect(payOther.status).toBe(404);

    const own = await app.http.get(`/v1/payments/${paid.body.id}`).set('Authorization', `Bearer ${token}`);
    expect(own.status).toBe(200);
  });

  it('refuses an expired customer token', async () => {
    const token = await customerToken(app, newCustomerId(), -120);
    const res = await app.http.get(`/v1/payments/${randomUUID()}`).set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.body.message).toContain('expired');
  });

  it('answers 400 with field-level details for invalid bodies, never 500', async () => {
    const order = await createOrder(app);
    const cases: [string, unknown, string][] = [
      ['missing paymentMethod', { orderId: order.id }, 'paymentMethod'],
      ['orderId not a uuid', { orderId: '42', paymentMethod: card(CARDS.approve) }, 'orderId'],
      ['unknown field', { orderId: order.id, paymentMethod: card(CARDS.approve), amount: 1 }, 'amount'],
      ['paymentMethod not an object', { orderId: order.id, paymentMethod: 'visa' }, 'paymentMethod'],
      [
        'bad returnUrl',
        { orderId: order.id, paymentMethod: card(CARDS.approve), returnUrl: 'javascript:alert(1)' },
        'returnUrl',
      ],
    ];
    for (const [name, body, field] of cases) {
      const res = await app.http
        .post('/v1/payments')
        .set('X-Api-Key', API_KEY)
        .set('Idempotency-Key', randomUUID())
        .send(body as object);
      expect({ name, status: res.status, code: res.body.code }).toEqual({
        name,
        status: 400,
        code: 'VALIDATION_FAILED',
      });
      expect((res.body.details as { field: string }[]).map((d) => d.field)).toContain(field);
    }
  });

  it('requires an Idempotency-Key for payments', async () => {
    const order = await createOrder(app);
    const res = await app.http
      .post('/v1/payments')
      .set('X-Api-Key', API_KEY)
      .send({ orderId: order.id, paymentMethod: card(CARDS.approve) });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('IDEMPOTENCY_KEY_REQUIRED');
    const bad = await app.http
      .post('/v1/payments')
      .set('X-Api-Key', API_KEY)
      .set('Idempotency-Key', 'white space')
      .send({ orderId: order.id, paymentMethod: card(CARDS.approve) });
    expect(bad.status).toBe(400);
  });

  it('answers 400 for malformed JSON and 404 for unknown orders and payments', async () => {
    const malformed = await app.http
      .post('/v1/orders')
      .set('X-Api-Key', API_KEY)
      .set('Content-Type', 'application/json')
      .send('{"customerId": ');
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('MALFORMED_REQUEST');

    const unknownOrder = await pay(app, randomUUID());
    expect(unknownOrder.status).toBe(404);
    expect(unknownOrder.body.code).toBe('ORDER_NOT_FOUND');
    const unknownPayment = await app.http.get(`/v1/payments/${randomUUID()}`).set('X-Api-Key', API_KEY);
    expect(unknownPayment.status).toBe(404);
    const badId = await app.http.get('/v1/payments/not-a-uuid').set('X-Api-Key', API_KEY);
    expect(badId.status).toBe(400);
  });

  it('validates order input: currency, country, gateway and paymentMethodId', async () => {
    const base = {
      customerId: newCustomerId(),
      offerId: OFFERS.monthlyUsd,
      currency: 'USD',
      country: 'US',
      gateway: 'adyen',
    };
    const cases: [unknown, number, string][] = [
      [{ ...base, currency: 'usd' }, 400, 'currency'],
      [{ ...base, country: 'USA' }, 400, 'country'],
      [{ ...base, gateway: 'paypal' }, 400, 'gateway'],
      [{ ...base, customerId: 'abc' }, 400, 'customerId'],
      [{ ...base, gateway: undefined, paymentMethodId: 999 }, 400, 'paymentMethodId'],
    ];
    for (const [body, status, field] of cases) {
      const res = await app.http
        .post('/v1/orders')
        .set('X-Api-Key', API_KEY)
        .send(body as object);
      expect({ field, status: res.status }).toEqual({ field, status });
      expect(JSON.stringify(res.body.details)).toContain(field);
    }
    // a gateway this build does not implement is not a valid choice (the DTO lists the registry's ids)
    const notEnabled = await app.http
      .post('/v1/orders')
      .set('X-Api-Key', API_KEY)
      .send({ ...base, gateway: 'paypal' });
    expect(notEnabled.status).toBe(400);
    expect(JSON.stringify(notEnabled.body.details)).toContain('gateway must be one of adyen, cleverbridge');
    const byMethodId = await app.http
      .post('/v1/orders')
      .set('X-Api-Key', API_KEY)
      .send({ ...base, gateway: undefined, paymentMethodId: 101 });
    expect(byMethodId.status).toBe(201);
    expect(byMethodId.body.gateway).toBe('adyen');
    const unknownOffer = await app.http
      .post('/v1/orders')
      .set('X-Api-Key', API_KEY)
      .send({ ...base, offerId: 'S999_XX' });
    expect(unknownOffer.status).toBe(404);
  });

  it('a card number the gateway refuses as invalid is a 422, not a 500', async () => {
    const order = await createOrder(app);
    const res = await pay(app, order.id, '4111111111111112');
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('GATEWAY_REQUEST_INVALID');
  });

  it('serves health, readiness and the OpenAPI document', async () => {
    expect((await app.http.get('/health')).body).toEqual({ status: 'ok' });
    expect((await app.http.get('/health/ready')).body).toEqual({ status: 'ok', database: 'ok' });
    const docs = await app.http.get('/docs-json');
    expect(docs.status).toBe(200);
    expect(Object.keys(docs.body.paths as object)).toEqual(
      expect.arrayContaining([
        '/v1/orders',
        '/v1/payments',
        '/v1/payments/{id}',
        '/v1/payments/{id}/complete',
        '/health',
      ]),
    );
    expect(JSON.stringify(docs.body.paths)).not.toContain('/sandbox/');
  });

  it('describes a 2xx response body for every documented operation', async () => {
    interface Schema {
      $ref?: string;
      type?: string;
      items?: Schema;
      properties?: Record<string, Schema>;
      additionalProperties?: unknown;
    }
    interface Operation {
      responses?: Record<string, { content?: Record<string, { schema?: Schema }> }>;
    }
    const docs = await app.http.get('/docs-json');
    const { paths, components } = docs.body as {
      paths: Record<string, Record<string, Operation>>;
      components: { schemas: Record<string, Schema> };
    };
    const resolve = (schema: Schema | undefined): Schema | undefined =>
      schema?.$ref ? components.schemas[schema.$ref.replace('#/components/schemas/', '')] : schema;
    const undocumented: string[] = [];
    let operations = 0;
    for (const [path, methods] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        operations += 1;
        const success = Object.entries(operation.responses ?? {}).filter(([code]) => /^2\d\d$/.test(code));
        const described = success.some(([code, response]) => {
          if (code === '204') {
            return true; // no content by definition
          }
          return Object.values(response.content ?? {}).some(({ schema }) => {
            const body = resolve(schema);
            const element = body?.type === 'array' ? resolve(body.items) : body;
            return (
              element !== undefined &&
              (element.type === 'string' ||
                Object.keys(element.properties ?? {}).length > 0 ||
                element.additionalProperties !== undefined)
            );
          });
        });
        if (!described) {
          undocumented.push(`${method.toUpperCase()} ${path}`);
        }
      }
    }
    expect(operations).toBeGreaterThan(20);
    expect(undocumented).toEqual([]);
  });

  // Deliberately changed with prom-client: the per-status payment/refund counts (full-table count(*) per
  // scrape) are gone; HTTP and gateway latency histograms and backlog gauges took their place.
  it('serves Prometheus metrics: process, HTTP by route pattern, gateway calls, backlogs', async () => {
    const order = await createOrder(app);
    const paid = await pay(app, order.id);
    expect(paid.status).toBe(201);
    const paymentId = (paid.body as { id: string }).id;
    expect((await app.http.get(`/v1/payments/${paymentId}`).set('X-Api-Key', API_KEY)).status).toBe(200);
    const res = await app.http.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.text).toMatch(/process_resident_memory_bytes \d+/);
    expect(res.text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    expect(res.text).toMatch(
      /connector_http_request_duration_seconds_count\{method="POST",route="\/v1\/payments",status="201"\} [1-9]\d*/,
    );
    // the route pattern, never the raw URL
    expect(res.text).toMatch(
      /connector_http_request_duration_seconds_count\{method="GET",route="\/v1\/payments\/:id",status="200"\} [1-9]/,
    );
    expect(res.text).not.toContain(paymentId);
    expect(res.text).toMatch(
      /connector_gateway_call_duration_seconds_count\{gateway="adyen",operation="authorise",outcome="ok"\} [1-9]/,
    );
    expect(res.text).toContain('# TYPE connector_outbox_messages gauge');
    expect(res.text).toMatch(/connector_outbox_oldest_pending_seconds \d/);
    expect(res.text).toMatch(/connector_inbox_pending_events \d+/);
    expect(res.text).toMatch(/connector_rebilling_subscriptions\{state="due"\} \d+/);
    expect(res.text).toMatch(/connector_rebilling_subscriptions\{state="claimed"\} \d+/);
    expect(res.text).toMatch(/connector_payments_unknown \d+/);
  });

  it('keeps operator routes behind the operator key', async () => {
    expect((await app.http.get('/ops/outbox')).status).toBe(401);
    expect((await app.http.get('/ops/outbox').set('X-Api-Key', API_KEY)).status).toBe(401);
    expect((await app.http.get('/ops/outbox').set('X-Operator-Key', 'sandbox-operator')).status).toBe(200);
  });
});
