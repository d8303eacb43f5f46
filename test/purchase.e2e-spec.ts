import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { ApiKeyIds } from '../src/auth/api-key-ids';
import { IdempotencyService } from '../src/common/idempotency/idempotency.service';
import { API_KEY, eventually, startTestApp, TestApp } from './support/test-app';
import {
  adyenLedger,
  card,
  CARDS,
  cleengPaymentsForOrder,
  cleengState,
  createOrder,
  OFFERS,
  pay,
} from './support/flows';

describe('initial purchase through the Adyen-style gateway (sandbox)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app.close();
  });
  afterEach(async () => {
    await app.http.post('/sandbox/adyen/webhooks/resume');
    await app.http.delete('/sandbox/faults/adyen');
    await app.http.delete('/sandbox/faults/cleeng');
  });

  it('charges exactly the order amount, captures, stores the token and reports captured to Cleeng', async () => {
    const order = await createOrder(app);
    expect(order.amount).toEqual({ value: 999, currency: 'USD' });

    const res = await pay(app, order.id);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      orderId: order.id,
      gateway: 'adyen',
      operation: 'initial-payment',
      status: 'captured',
      amount: { value: 999, currency: 'USD' },
    });
    const psp = res.body.externalPaymentId as string;
    expect(psp).toMatch(/^[A-Z0-9]{16}$/);

    const ledger = await adyenLedger(app, res.body.id);
    expect(ledger.payments).toHaveLength(1);
    expect(ledger.payments[0]).toMatchObject({ pspReference: psp, status: 'captured', capturedValue: 999 });
    expect(ledger.payments[0]?.amount).toEqual({ value: 999, currency: 'USD' });

    const reported = await eventually(async () => {
      const payments = await cleengPaymentsForOrder(app, order.cleengOrderId);
      return payments.length > 0 ? payments : undefined;
    });
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({
      status: 'captured',
      paymentOperation: 'initial-payment',
      externalPaymentId: psp,
    });
    const state = await cleengState(app);
    const details = state.paymentDetails.find((d) => d.id === reported[0]?.paymentDetailsId);
    expect(details?.token).toBeTruthy();
    expect(details?.paymentMethodSpecificParams).toMatchObject({
      lastCardFourDigits: '1111',
      variant: 'visa',
      cardExpirationDate: '03/2030',
      holderName: 'Matthew Brown',
    });

    // the token is sealed at rest: the plain value never appears in our database
    const db = app.app.get(DataSource);
    const rows: { token_sealed: string }[] = await db.query(
      `SELECT d.token_sealed FROM payment_details d JOIN payments p ON p.payment_details_id = d.id WHERE p.id = $1`,
      [res.body.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.token_sealed).not.toContain(details?.token ?? '<none>');
    const outbox: { payload: unknown; sealed_secret: string }[] = await db.query(
      `SELECT payload, sealed_secret FROM outbox_messages WHERE aggregate_id = $1`,
      [res.body.id],
    );
    expect(JSON.stringify(outbox)).not.toContain(details?.token ?? '<none>');

    const read = await app.http.get(`/v1/payments/${res.body.id}`).set('X-Api-Key', API_KEY);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: res.body.id, status: 'captured' });
  });

  it('charges the order currency with its own exponent (JPY has no minor unit)', async () => {
    const order = await createOrder(app, { offerId: OFFERS.jpy, currency: 'JPY', country: 'JP' });
    expect(order.amount).toEqual({ value: 1000, currency: 'JPY' });
    const res = await pay(app, order.id);
    expect(res.body.status).toBe('captured');
    const ledger = await adyenLedger(app, res.body.id);
    expect(ledger.payments[0]?.amount).toEqual({ value: 1000, currency: 'JPY' });
  });

  it.each([
    [CARDS.declined, 'PAY_DEC', 'soft', '2'],
    [CARDS.limit, 'PAY_CLE', 'soft', '12'],
    [CARDS.expired, 'PAY_CEX', 'hard', '6'],
    [CARDS.cvc, 'PAY_SCO', 'hard', '24'],
    [CARDS.fraud, 'FRA_REJ', 'hard', '20'],
  ])(
    'card %s is declined as %s (%s) and reported rejected with a reason',
    async (number, code, klass, raw) => {
      const order = await createOrder(app);
      const res = await pay(app, order.id, number);
      expect(res.status).toBe(201);
      expect(res.body.status).toBe('rejected');
      expect(res.body.decline).toMatchObject({ code, class: klass, rawCode: raw });

      const reported = await eventually(async () => {
        const payments = await cleengPaymentsForOrder(app, order.cleengOrderId);
        return payments.length > 0 ? payments : undefined;
      });
      expect(reported).toHaveLength(1);
      expect(reported[0]).toMatchObject({ status: 'rejected', paymentOperation: 'initial-payment' });
      expect(reported[0]?.rejectedReason).toBeTruthy();

      // a declined order can be paid again with another card
      const retry = await pay(app, order.id, CARDS.approve);
      expect(retry.body.status).toBe('captured');
    },
  );

  it('runs a 3DS challenge: action, approve on the challenge page, complete -> captured', async () => {
    const order = await createOrder(app);
    const res = await pay(app, order.id, CARDS.threeDS);
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('action_required');
    expect(res.body.action).toMatchObject({ type: 'redirect', method: 'GET' });
    const challenge = new URL(res.body.action.url as string);

    const page = await app.http.get(challenge.pathname);
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/approve/i);

    const approved = await app.http.get(`${challenge.pathname}/approve`).redirects(0);
    expect(approved.status).toBe(302);
    const back = new URL(approved.headers.location as string);
    const redirectResult = back.searchParams.get('redirectResult');
    expect(redirectResult).toBeTruthy();
    expect(back.pathname).toBe(`/v1/payments/${res.body.id}/return`);

    const done = await app.http
      .post(`/v1/payments/${res.body.id}/complete`)
      .set('X-Api-Key', API_KEY)
      .send({ details: { redirectResult } });
    expect(done.status).toBe(200);
    expect(done.body.status).toBe('captured');
    const reported = await eventually(async () => {
      const payments = await cleengPaymentsForOrder(app, order.cleengOrderId);
      return payments.length > 0 ? payments : undefined;
    });
    expect(reported[0]).toMatchObject({ status: 'captured', externalPaymentId: done.body.externalPaymentId });

    const again = await app.http
      .post(`/v1/payments/${res.body.id}/complete`)
      .set('X-Api-Key', API_KEY)
      .send({ details: { redirectResult } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('PAYMENT_NOT_ACTIONABLE');
  });

  it('completes 3DS through the default return URL and rejects a denied challenge', async () => {
    const order = await createOrder(app);
    const res = await pay(app, order.id, CARDS.threeDS);
    const challenge = new URL(res.body.action.url as string);
    const denied = await app.http.get(`${challenge.pathname}/deny`).redirects(0);
    const back = new URL(denied.headers.location as string);
    // the unauthenticated return route completes the payment but reveals nothing (issue 8 item 3)
    const done = await app.http.get(`${back.pathname}${back.search}`);
    expect(done.status).toBe(200);
    expect(done.text).not.toMatch(/rejected|PAY_DEC/);
    const read = await app.http.get(`/v1/payments/${res.body.id}`).set('X-Api-Key', API_KEY);
    expect(read.body.status).toBe('rejected');
    expect(read.body.decline).toMatchObject({ code: 'PAY_DEC', rawCode: '11' });
  });

  it('free trial (Scenario 1): zero-value auth creates the token and reports a zero initial-free-transaction', async () => {
    const order = await createOrder(app, { offerId: OFFERS.freeTrialUsd });
    expect(order.amount).toEqual({ value: 0, currency: 'USD' });
    const res = await pay(app, order.id);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      status: 'captured',
      operation: 'initial-free-transaction',
      amount: { value: 0 },
    });

    const ledger = await adyenLedger(app, res.body.id);
    expect(ledger.payments).toHaveLength(1);
    expect(ledger.payments[0]?.amount.value).toBe(0);
    expect(ledger.payments[0]?.capturedValue).toBe(0);

    const reported = await eventually(async () => {
      const payments = await cleengPaymentsForOrder(app, order.cleengOrderId);
      return payments.length > 0 ? payments : undefined;
    });
    expect(reported[0]).toMatchObject({ status: 'captured', paymentOperation: 'initial-free-transaction' });
    expect(reported[0]?.paymentDetailsId).toBeTruthy();
  });

  it('free trial with a declined card is rejected, not tokenised', async () => {
    const order = await createOrder(app, { offerId: OFFERS.freeTrialUsd });
    const res = await pay(app, order.id, CARDS.expired);
    expect(res.body.status).toBe('rejected');
    expect(res.body.decline.code).toBe('PAY_CEX');
  });

  it('replays an Idempotency-Key: same response, one charge; a different body with the key is 409', async () => {
    const order = await createOrder(app);
    const key = randomUUID();
    const first = await pay(app, order.id, CARDS.approve, key);
    const second = await pay(app, order.id, CARDS.approve, key);
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.body).toEqual(first.body);
    const ledger = await adyenLedger(app, first.body.id);
    expect(ledger.payments).toHaveLength(1);
    expect(ledger.requests).toBe(1);

    const conflict = await pay(app, order.id, CARDS.declined, key);
    expect(conflict.status).toBe(409);
    expect(conflict.body.code).toBe('IDEMPOTENCY_KEY_REUSED');

    const paidAgain = await pay(app, order.id, CARDS.approve);
    expect(paidAgain.status).toBe(409);
    expect(paidAgain.body.code).toBe('ORDER_ALREADY_PAID');
  });

  it('a key whose request died with its process is taken over after two minutes', async () => {
    const order = await createOrder(app);
    const key = randomUUID();
    const db = app.app.get(DataSource);
    const scope = `api:${app.app.get(ApiKeyIds).identify(API_KEY) ?? ''} POST /v1/payments`;
    await db.query(
      `INSERT INTO idempotency_records (scope, key, request_hash, state, created_at) VALUES ($1, $2, $3, 'in_progress', $4)`,
      [
        scope,
        key,
        app.app.get(IdempotencyService).requestHash({
          params: {},
          body: { orderId: order.id, paymentMethod: card(CARDS.approve) },
        }),
        new Date(Date.now() - 60_000),
      ],
    );
    // still fresh: the request may be running elsewhere
    const blocked = await pay(app, order.id, CARDS.approve, key);
    expect(blocked.status).toBe(409);
    expect(blocked.body.code).toBe('IDEMPOTENCY_REQUEST_IN_PROGRESS');
    await db.query(
      `UPDATE idempotency_records SET created_at = now() - interval '3 minutes' WHERE key = $1`,
      [key],
    );
    const taken = await pay(app, order.id, CARDS.approve, key);
    expect(taken.status).toBe(201);
    expect(taken.body.status).toBe('captured');
  });

  it('concurrent payments of one order with different keys charge once', async () => {
    const order = await createOrder(app);
    const results = await Promise.all([pay(app, order.id), pay(app, order.id), pay(app, order.id)]);
    const statuses = results.map((r) => r.status).sort();
    if (statuses.filter((s) => s === 409).length !== 2) {
      console.error(results.map((r) => r.body));
    }
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(2);
    const reported = await eventually(async () => {
      const payments = await cleengPaymentsForOrder(app, order.cleengOrderId);
      return payments.length > 0 ? payments : undefined;
    });
    expect(reported).toHaveLength(1);
  });

  it('a gateway timeout is retried under the same key: captured once, never reported rejected', async () => {
    // the sandbox processes the payment, then holds the answer past our 1.5 s timeout
    await app.http.post('/sandbox/faults/adyen').send({ hangNext: 1, hangMs: 2500 });
    const order = await createOrder(app);
    const res = await pay(app, order.id);
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('captured');
    const ledger = await adyenLedger(app, res.body.id);
    expect(ledger.payments).toHaveLength(1);
    expect(ledger.payments[0]?.capturedValue).toBe(999);
    expect(ledger.requests).toBeGreaterThanOrEqual(2);
    const reported = await eventually(async () => {
      const payments = await cleengPaymentsForOrder(app, order.cleengOrderId);
      return payments.length > 0 ? payments : undefined;
    });
    expect(reported).toHaveLength(1);
    expect(reported[0]?.status).toBe('captured');
  });

  it('a gateway that never answers leaves the payment unknown: nothing reported, no second charge', async () => {
    // without the gateway's notification nothing can tell us the outcome
    await app.http.post('/sandbox/adyen/webhooks/pause');
    await app.http.post('/sandbox/faults/adyen').send({ hangNext: 3, hangMs: 2000 });
    const order = await createOrder(app);
    const res = await pay(app, order.id);
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('unknown');
    const ledger = await adyenLedger(app, res.body.id);
    expect(ledger.payments.length).toBeLessThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 500));
    expect(await cleengPaymentsForOrder(app, order.cleengOrderId)).toHaveLength(0);
    // a second attempt is refused while the first one's outcome is open
    const second = await pay(app, order.id);
    expect(second.status).toBe(409);
    expect(second.body.code).toBe('PAYMENT_IN_PROGRESS');

    // the AUTHORISATION notification arrives: the payment is settled (captured once) and reported
    await app.http.post('/sandbox/adyen/webhooks/resume');
    const settled = await eventually(async () => {
      const read = await app.http.get(`/v1/payments/${res.body.id}`).set('X-Api-Key', API_KEY);
      return read.body.status === 'captured' ? read.body : undefined;
    });
    expect(settled.externalPaymentId).toBeTruthy();
    const reported = await eventually(async () => {
      const payments = await cleengPaymentsForOrder(app, order.cleengOrderId);
      return payments.length > 0 ? payments : undefined;
    });
    expect(reported).toHaveLength(1);
    expect(reported[0]?.status).toBe('captured');
    const after = await adyenLedger(app, res.body.id);
    expect(after.payments).toHaveLength(1);
    expect(after.payments[0]?.capturedValue).toBe(999);
  });

  it('Cleeng down while reporting: the charge stands and the report arrives once Cleeng is back', async () => {
    const order = await createOrder(app);
    await app.http.post('/sandbox/faults/cleeng').send({ errorRate: 1, failStatus: 503 });
    const res = await pay(app, order.id);
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('captured');

    await new Promise((r) => setTimeout(r, 700));
    expect(await cleengPaymentsForOrder(app, order.cleengOrderId)).toHaveLength(0);
    const pending = await app.http
      .get('/ops/outbox')
      .query({ status: 'pending' })
      .set('X-Operator-Key', 'sandbox-operator');
    const mine = (pending.body as { aggregateId: string; attempts: number; lastError: string }[]).find(
      (m) => m.aggregateId === res.body.id,
    );
    expect(mine?.attempts).toBeGreaterThanOrEqual(1);
    expect(mine?.lastError).toContain('503');

    await app.http.delete('/sandbox/faults/cleeng');
    const reported = await eventually(async () => {
      const payments = await cleengPaymentsForOrder(app, order.cleengOrderId);
      return payments.length > 0 ? payments : undefined;
    });
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ status: 'captured', externalPaymentId: res.body.externalPaymentId });
    const ledger = await adyenLedger(app, res.body.id);
    expect(ledger.payments).toHaveLength(1);
    // stays delivered once: a later pass sends nothing more
    await app.http.post('/ops/outbox/dispatch').set('X-Operator-Key', 'sandbox-operator');
    expect(await cleengPaymentsForOrder(app, order.cleengOrderId)).toHaveLength(1);
  });

  it('Cleeng down when creating the order is a 502 with a clear message, not a 500', async () => {
    await app.http.post('/sandbox/faults/cleeng').send({ failNext: 1, failStatus: 503 });
    const res = await app.http.post('/v1/orders').set('X-Api-Key', API_KEY).send({
      customerId: '123',
      offerId: OFFERS.monthlyUsd,
      currency: 'USD',
      country: 'US',
      gateway: 'adyen',
    });
    expect(res.status).toBe(502);
    expect(res.body.code).toBe('UPSTREAM_UNAVAILABLE');
  });

  it('never stores the card number or CVC it was given', async () => {
    const order = await createOrder(app);
    const res = await pay(app, order.id);
    const db = app.app.get(DataSource);
    const dump: unknown[] = await db.query(
      `SELECT row_to_json(p)::text AS j FROM payments p WHERE id = $1
       UNION ALL SELECT row_to_json(i)::text FROM idempotency_records i WHERE response_body->>'id' = $1::text`,
      [res.body.id],
    );
    expect(JSON.stringify(dump)).not.toContain(CARDS.approve);
    expect(JSON.stringify(dump)).not.toContain('"737"');
  });

  it('uses the raw card fields untouched and also accepts Adyen test-encrypted fields', async () => {
    const order = await createOrder(app);
    const res = await app.http
      .post('/v1/payments')
      .set('X-Api-Key', API_KEY)
      .set('Idempotency-Key', randomUUID())
      .send({
        orderId: order.id,
        paymentMethod: {
          type: 'scheme',
          encryptedCardNumber: `test_${CARDS.approve}`,
          encryptedExpiryMonth: 'test_03',
          encryptedExpiryYear: 'test_2030',
          encryptedSecurityCode: 'test_737',
          holderName: 'Matthew Brown',
        },
      });
    expect(res.body.status).toBe('captured');
  });
});
