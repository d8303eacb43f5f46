import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { API_KEY, eventually, startTestApp, TestApp } from './support/test-app';
import {
  advanceClock,
  card,
  CARDS,
  cleengState,
  OPERATOR,
  purchase,
  sendCleengWebhook,
  settle,
  FAST_INBOX,
  newCustomerId,
  renewalData,
} from './support/flows';

type CleengPayment = {
  id: number;
  status: string;
  paymentOperation: string;
  externalPaymentId?: string | null;
  refundedAmount?: number;
  paymentDetailsId?: number | null;
  subscriptionId?: number | string | null;
};

async function cleengPayment(app: TestApp, id: number): Promise<CleengPayment | undefined> {
  return ((await cleengState(app)).payments as CleengPayment[]).find((p) => p.id === id);
}

async function ledgerEntry(app: TestApp, psp: string) {
  const res = await app.http.get('/sandbox/adyen/ledger');
  return (
    res.body.payments as {
      pspReference: string;
      status: string;
      capturedValue: number;
      refundedValue: number;
    }[]
  ).find((p) => p.pspReference === psp);
}

function refund(app: TestApp, paymentId: string, value?: number, key: string = randomUUID()) {
  return app.http
    .post('/v1/refunds')
    .set('X-Api-Key', API_KEY)
    .set('Idempotency-Key', key)
    .send({
      paymentId,
      ...(value !== undefined ? { amount: { value, currency: 'USD' } } : {}),
      reason: 'customer request',
    });
}

describe('refunds, captures on request, payment details and gateway notifications', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp(FAST_INBOX);
  });
  afterAll(async () => {
    await app.close();
  });

  it('refundPayment from Cleeng: refunded at the gateway, confirmed by REFUND, PATCHed refunded in Cleeng', async () => {
    const { payment, cleengPayment: reported } = await purchase(app);
    await app.http
      .post('/sandbox/cleeng/operator/refund')
      .send({ paymentId: reported.id, amount: 4.99, reason: 'goodwill' });
    await settle(app);
    const patched = await eventually(async () => {
      const p = await cleengPayment(app, reported.id);
      return p?.status === 'refunded' ? p : undefined;
    });
    expect(patched.refundedAmount).toBe(4.99);
    expect((await ledgerEntry(app, payment.externalPaymentId))?.refundedValue).toBe(499);
    const local = await app.http.get(`/v1/payments/${payment.id}`).set('X-Api-Key', API_KEY);
    expect(local.body.status).toBe('partially_refunded');
  });

  it('API refunds: partial, then more than what is left is refused, concurrent requests never exceed the capture', async () => {
    const { payment } = await purchase(app);
    const first = await refund(app, payment.id, 400);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ amount: { value: 400, currency: 'USD' } });
    expect(['pending', 'succeeded']).toContain(first.body.status);

    const tooMuch = await refund(app, payment.id, 600);
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.code).toBe('REFUND_EXCEEDS_CAPTURED');

    const racing = await Promise.all([
      refund(app, payment.id, 300),
      refund(app, payment.id, 300),
      refund(app, payment.id, 300),
    ]);
    expect(racing.filter((r) => r.status === 201)).toHaveLength(1);
    expect(racing.filter((r) => r.status === 422)).toHaveLength(2);

    const db = app.app.get(DataSource);
    const [row] = await db.query<
      {
        c: number;
        r: number;
      }[]
    >(`SELECT captured_minor::int AS c, refunded_minor::int AS r FROM payments WHERE id = $1`, [payment.id]);
    expect(row).toEqual({ c: 999, r: 700 });
    await settle(app);
    expect((await ledgerEntry(app, payment.externalPaymentId))?.refundedValue).toBe(700);
    // the replay of a refund request with the same key refunds nothing more
    const key = randomUUID();
    const last = await refund(app, payment.id, 299, key);
    const replay = await refund(app, payment.id, 299, key);
    expect(replay.body.id).toBe(last.body.id);
    await settle(app);
    expect((await ledgerEntry(app, payment.externalPaymentId))?.refundedValue).toBe(999);
    const done = await app.http.get(`/v1/payments/${payment.id}`).set('X-Api-Key', API_KEY);
    expect(done.body.status).toBe('refunded');
    expect((await refund(app, payment.id, 1)).status).toBe(409);
  });

  it('a REFUND_FAILED notification releases the reserved amount', async () => {
    const { payment } = await purchase(app);
    const r = await refund(app, payment.id, 999);
    expect(r.status).toBe(201);
    await settle(app);
    const fail = await app.http.post(`/sandbox/adyen/payments/${payment.externalPaymentId}/fail-refund`);
    expect(fail.status).toBeLessThan(300);
    await settle(app);
    const db = app.app.get(DataSource);
    const [refundRow] = await db.query<
      {
        status: string;
      }[]
    >(`SELECT status FROM refunds WHERE id = $1`, [r.body.id]);
    // Cleeng was already told after REFUND: the failure is kept for an operator and the reservation released
    expect(refundRow?.status).toBe('failed');
    const [paymentRow] = await db.query<
      {
        status: string;
        r: number;
      }[]
    >(`SELECT status, refunded_minor::int AS r FROM payments WHERE id = $1`, [payment.id]);
    expect(paymentRow).toEqual({ status: 'captured', r: 0 });
  });

  it('capturePayment captures an authorised renewal on request', async () => {
    const { subscription, order } = await purchase(app);
    const auth = await sendCleengWebhook(
      app,
      'subscriptionReadyForPaymentAuthorisation',
      await renewalData(app, { subscription, order }, `manual-${randomUUID()}`),
    );
    expect(auth.status).toBe(200);
    await settle(app);
    const authorised = await eventually(async () => {
      const p = ((await cleengState(app)).payments as CleengPayment[]).find(
        (x) =>
          x.paymentOperation === 'recurring-payment' &&
          String(x.subscriptionId) === String(subscription.subscriptionId),
      );
      return p && (p.status === 'authorized' || p.status === 'captured') ? p : undefined;
    });
    if (authorised.status === 'authorized') {
      await app.http.post('/sandbox/cleeng/operator/capture').send({ paymentId: authorised.id });
      await settle(app);
    }
    const captured = await eventually(async () => {
      const p = await cleengPayment(app, authorised.id);
      return p?.status === 'captured' ? p : undefined;
    });
    expect((await ledgerEntry(app, captured.externalPaymentId ?? ''))?.capturedValue).toBe(999);
  });

  it('paymentDetailsDeactivated: authorised payments cancelled in the gateway and in Cleeng, old details deleted', async () => {
    const { subscription, order } = await purchase(app);
    const data = await renewalData(app, { subscription, order });
    await sendCleengWebhook(app, 'subscriptionReadyForPaymentAuthorisation', data);
    await settle(app);
    const authorised = await eventually(async () => {
      const p = ((await cleengState(app)).payments as CleengPayment[]).find(
        (x) =>
          x.paymentOperation === 'recurring-payment' &&
          String(x.subscriptionId) === String(subscription.subscriptionId),
      );
      return p?.status === 'authorized' ? p : undefined;
    });
    await app.http
      .post('/sandbox/cleeng/operator/deactivate-payment-details')
      .send({ paymentDetailsId: data.paymentDetailsId });
    await settle(app);
    const cancelled = await eventually(async () => {
      const p = await cleengPayment(app, authorised.id);
      return p?.status === 'cancelled' ? p : undefined;
    });
    expect((await ledgerEntry(app, cancelled.externalPaymentId ?? ''))?.status).toBe('cancelled');
    const gone = await eventually(async () => {
      const details = (await cleengState(app)).paymentDetails.find((d) => d.id === data.paymentDetailsId);
      return details === undefined ? true : undefined;
    });
    expect(gone).toBe(true);
    const mine = await app.http
      .get('/v1/payment-details')
      .query({ customerId: order.customerId })
      .set('X-Api-Key', API_KEY);
    expect(mine.body).toEqual([]);
  });

  it('update payment details on the same gateway: new card tokenised without a charge, old details retired', async () => {
    const { order, subscription } = await purchase(app);
    const oldDetailsId = subscription.paymentDetailsId;
    const created = await app.http
      .post('/v1/payment-details')
      .set('X-Api-Key', API_KEY)
      .send({
        customerId: order.customerId,
        gateway: 'adyen',
        paymentMethod: card('5555555555554444'),
        currency: 'USD',
      });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ customerId: order.customerId, gateway: 'adyen', status: 'active' });
    expect(JSON.stringify(created.body)).not.toMatch(/token/i);
    await settle(app);
    const state = await eventually(async () => {
      const s = await cleengState(app);
      const subs = s.subscriptions as { subscriptionId: number; paymentDetailsId: number }[];
      const moved =
        subs.find((x) => x.subscriptionId === subscription.subscriptionId)?.paymentDetailsId !== oldDetailsId;
      const oldGone = !s.paymentDetails.some((d) => d.id === oldDetailsId);
      return moved && oldGone ? s : undefined;
    });
    const newDetails = state.paymentDetails.find(
      (d) => d.paymentMethodSpecificParams?.lastCardFourDigits === '4444',
    );
    expect(newDetails).toBeTruthy();
    const list = await app.http
      .get('/v1/payment-details')
      .query({ customerId: order.customerId })
      .set('X-Api-Key', API_KEY);
    expect(list.body).toHaveLength(1);
    expect(list.body[0].card.lastCardFourDigits).toBe('4444');

    // the next renewal charges the new card
    await advanceClock(app, 31);
    const renewal = await eventually(async () => {
      const p = ((await cleengState(app)).payments as CleengPayment[]).find(
        (x) =>
          x.paymentOperation === 'recurring-payment' &&
          String(x.subscriptionId) === String(subscription.subscriptionId),
      );
      return p?.status === 'captured' ? p : undefined;
    });
    expect(renewal.paymentDetailsId).toBe(newDetails?.id);
  });

  it('update payment details to another gateway: this connector, as the old one, retires its details', async () => {
    const { order, subscription } = await purchase(app);
    const oldDetailsId = subscription.paymentDetailsId;
    // the new details connector (a stand-in for another gateway, paymentMethodId 104) creates details in Cleeng
    const created = await app.http
      .post('/sandbox/cleeng/3.1/payment_details')
      .set('X-Publisher-Token', 'sandbox-publisher-token')
      .send({
        customerId: Number(order.customerId),
        token: `other-gateway-${randomUUID()}`,
        paymentMethodId: 104,
        active: true,
      });
    expect(created.status).toBe(200);
    await settle(app);
    await eventually(async () => {
      const s = await cleengState(app);
      return s.paymentDetails.some((d) => d.id === oldDetailsId) ? undefined : true;
    });
    const mine = await app.http
      .get('/v1/payment-details')
      .query({ customerId: order.customerId })
      .set('X-Api-Key', API_KEY);
    expect(mine.body).toEqual([]);
  });

  it('a retry with the same Idempotency-Key after the tokenisation answer was lost: one tokenisation, one details', async () => {
    const customerId = newCustomerId();
    const key = randomUUID();
    const send = () =>
      app.http
        .post('/v1/payment-details')
        .set('X-Api-Key', API_KEY)
        .set('Idempotency-Key', key)
        .send({ customerId, gateway: 'adyen', paymentMethod: card(CARDS.approve), currency: 'USD' });
    // Adyen tokenises, every answer (the request's tries under one key) is held past our timeout
    await app.http.post('/sandbox/faults/adyen').send({ hangNext: 3, hangMs: 2500 }).expect(200);
    let lost;
    try {
      lost = await send();
    } finally {
      await app.http.delete('/sandbox/faults/adyen').expect(204);
    }
    expect(lost.body.code).toBe('UPSTREAM_UNAVAILABLE');
    const retry = await send();
    expect(retry.status).toBe(201);
    expect(retry.body).toMatchObject({ customerId, status: 'active' });
    const ledger = (await app.http.get('/sandbox/adyen/ledger')).body as {
      payments: { shopperReference?: string }[];
    };
    // before the fix the retry tokenised again under a new gateway key: two zero-amount authorisations
    expect(
      ledger.payments.filter((p) => p.shopperReference === `cleeng-customer-${customerId}`),
    ).toHaveLength(1);
    const stored = await app.app
      .get(DataSource)
      .query<unknown[]>(`SELECT id FROM payment_details WHERE customer_id = $1`, [customerId]);
    expect(stored).toHaveLength(1);
    // and a replay of the answered request is the same details
    const replay = await send();
    expect(replay.body).toEqual(retry.body);
  });

  it('payment-details input errors are 4xx with field details; a declined card is 422', async () => {
    const bad = await app.http
      .post('/v1/payment-details')
      .set('X-Api-Key', API_KEY)
      .send({ customerId: 'x', gateway: 'adyen', paymentMethod: {} });
    expect(bad.status).toBe(400);
    expect((bad.body.details as { field: string }[]).map((d) => d.field)).toEqual(
      expect.arrayContaining(['customerId', 'paymentMethod']),
    );
    const declined = await app.http
      .post('/v1/payment-details')
      .set('X-Api-Key', API_KEY)
      .send({ customerId: '123', gateway: 'adyen', paymentMethod: card(CARDS.expired) });
    expect(declined.status).toBe(422);
    expect(declined.body.code).toBe('PAYMENT_DETAILS_DECLINED');
    const missing = await app.http.delete(`/v1/payment-details/${randomUUID()}`).set('X-Api-Key', API_KEY);
    expect(missing.status).toBe(404);
  });

  it('CAPTURE_FAILED after we reported captured corrects the payment to rejected, here and in Cleeng', async () => {
    const { payment, cleengPayment: reported, order } = await purchase(app);
    const res = await app.http.post(`/sandbox/adyen/payments/${payment.externalPaymentId}/fail-capture`);
    expect(res.status).toBeLessThan(300);
    await settle(app);
    const corrected = await eventually(async () => {
      const p = await cleengPayment(app, reported.id);
      return p?.status === 'rejected' ? p : undefined;
    });
    expect(corrected.status).toBe('rejected');
    const local = await app.http.get(`/v1/payments/${payment.id}`).set('X-Api-Key', API_KEY);
    expect(local.body.status).toBe('rejected');
    const localOrder = await app.http.get(`/v1/orders/${order.id}`).set('X-Api-Key', API_KEY);
    expect(localOrder.body.status).toBe('open');
  });

  it('Adyen notifications: bad HMAC 401, malformed 400, and "[accepted]" for good ones', async () => {
    const item = {
      pspReference: 'ABCDEFGHIJKLMNOP',
      merchantAccountCode: 'SandboxMerchantECOM',
      merchantReference: randomUUID(),
      amount: { value: 100, currency: 'USD' },
      eventCode: 'REPORT_AVAILABLE',
      success: 'true',
      eventDate: new Date().toISOString(),
    };
    const bad = await app.http
      .post('/sandbox/adyen/webhooks/send')
      .send({ items: [item], signature: 'invalid' });
    expect(bad.body.status).toBe(401);
    const good = await app.http.post('/sandbox/adyen/webhooks/send').send({ items: [item] });
    expect(good.body).toMatchObject({ status: 200, body: '[accepted]' });
    const malformed = await app.http
      .post('/webhooks/adyen')
      .set('Content-Type', 'application/json')
      .send('{"notificationItems": 3}');
    expect(malformed.status).toBe(400);
    const events = await app.http.get('/ops/inbox').query({ source: 'adyen' }).set(OPERATOR);
    const stored = (events.body as { payload: { reference?: string }; status: string }[]).filter(
      (e) => e.payload.reference === item.merchantReference,
    );
    expect(stored).toHaveLength(1);
  });
});
