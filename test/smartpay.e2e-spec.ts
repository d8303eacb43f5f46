import { randomUUID } from 'node:crypto';
import { cleengState, FAST_INBOX, newCustomerId, OFFERS, OPERATOR } from './support/flows';
import { API_KEY, eventually, startTestApp, TestApp } from './support/test-app';

/**
 * SmartPay against its emulator: gateway-managed subscriptions (widget, billing cycles on the test clock, one
 * Cleeng report per cycle, status mirroring, cancellation), notification auth, and connector-managed rebills
 * through payment-series transactions.
 */
const API = { 'X-Api-Key': API_KEY };
const SMARTPAY = {
  'x-api-key': 'sandbox-smartpay-merchant-key',
  authorization: `Basic ${Buffer.from('sandbox-smartpay-merchant-key:sandbox-smartpay-auth-key').toString('base64')}`,
};

const CHECKOUT = {
  billingPeriod: 'P1M',
  billingAddress: {
    addressLine1: '1 Main St',
    city: 'Springfield',
    postCode: '12345',
    countryCode: 'US',
    state: 'IL',
  },
  consumer: { firstName: 'Matthew', lastName: 'Brown', email: 'matthew@example.com' },
};

interface Payment {
  id: string;
  status: string;
  externalPaymentId?: string;
  action?: { type: string; url?: string; data?: { subscriptionId?: string } };
  decline?: { code: string };
}

interface CleengPayment {
  id: number;
  orderId: number;
  customerId: number;
  status: string;
  paymentOperation: string;
  externalPaymentId: string | null;
  rejectedReason: string | null;
  subscriptionId?: number;
}

interface CleengSubscription {
  subscriptionId: number;
  customerId: number;
  status: string;
}

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ ...FAST_INBOX, REBILL_CRON: 'off' });
});

afterAll(async () => {
  await app?.close();
});

async function settle(): Promise<void> {
  for (let round = 0; round < 3; round += 1) {
    await app.http.post('/sandbox/smartpay/test/notifications/idle');
    await app.http.post('/ops/inbox/process').set(OPERATOR);
    await app.http.post('/ops/outbox/dispatch').set(OPERATOR);
  }
}

async function advanceDays(days: number): Promise<void> {
  const res = await app.http.post('/sandbox/clock/advance').send({ days });
  expect(res.status).toBe(200);
  await settle();
}

async function startSubscription(
  customerId: string,
): Promise<{ payment: Payment; subscriptionId: string; cleengOrderId: string }> {
  const order = await app.http
    .post('/v1/orders')
    .set(API)
    .send({ customerId, offerId: OFFERS.monthlyUsd, currency: 'USD', country: 'US', gateway: 'smartpay' });
  expect(order.status).toBe(201);
  const res = await app.http
    .post('/v1/payments')
    .set(API)
    .set('Idempotency-Key', randomUUID())
    .send({ orderId: (order.body as { id: string }).id, paymentMethod: CHECKOUT });
  expect(res.status).toBe(201);
  const payment = res.body as Payment;
  expect(payment.status).toBe('action_required');
  expect(payment.action?.type).toBe('widget');
  const subscriptionId = payment.action?.data?.subscriptionId;
  expect(subscriptionId).toMatch(/^subscription-/);
  return {
    payment,
    subscriptionId: subscriptionId ?? '',
    cleengOrderId: (order.body as { cleengOrderId: string }).cleengOrderId,
  };
}

async function storeCard(subscriptionId: string, card = '4111111111111111'): Promise<void> {
  await app.http.post(`/sandbox/smartpay/widget/${subscriptionId}`).send({ card }).expect(200);
}

async function getPayment(id: string): Promise<Payment> {
  return (await app.http.get(`/v1/payments/${id}`).set(API)).body as Payment;
}

async function cleengPayments(customerId: string): Promise<CleengPayment[]> {
  return ((await cleengState(app)).payments as unknown as CleengPayment[]).filter(
    (p) => String(p.customerId) === customerId,
  );
}

async function cleengSubscription(customerId: string): Promise<CleengSubscription | undefined> {
  return ((await cleengState(app)).subscriptions as CleengSubscription[]).find(
    (s) => String(s.customerId) === customerId,
  );
}

async function lastBillingNotification(subscriptionId: string): Promise<Record<string, unknown>> {
  const state = (await app.http.get('/sandbox/smartpay/test/state')).body as {
    subscriptions: {
      id: string;
      billingCycles: {
        id: string;
        transactionId: string;
        status: string;
        amount: number;
        currencyIsoCode: string;
        resultCode?: string;
      }[];
    }[];
  };
  const cycles = state.subscriptions.find((s) => s.id === subscriptionId)?.billingCycles ?? [];
  const cycle = cycles[cycles.length - 1];
  if (!cycle) {
    throw new Error('no billing cycle');
  }
  return {
    id: `event-${randomUUID()}`,
    createdAt: '2026-01-01T00:00:00.00Z',
    sourceSystem: 'subscription-module',
    origin: 'automated',
    eventType: 'billing.updated',
    objectId: subscriptionId,
    data: {
      subscriptionId,
      billingCycleId: cycle.id,
      amount: cycle.amount,
      currencyIsoCode: cycle.currencyIsoCode,
      status: cycle.status,
      transactionId: cycle.transactionId,
      ...(cycle.resultCode ? { resultCode: cycle.resultCode } : {}),
    },
  };
}

describe('SmartPay API client and sandbox', () => {
  it('the sandbox refuses a call without x-api-key (403) or with wrong Basic credentials (401)', async () => {
    await app.http.get('/sandbox/smartpay/plans').set({ authorization: SMARTPAY.authorization }).expect(403);
    await app.http
      .get('/sandbox/smartpay/plans')
      .set({ 'x-api-key': SMARTPAY['x-api-key'], authorization: 'Basic d3Jvbmc6d3Jvbmc=' })
      .expect(401);
    await app.http.get('/sandbox/smartpay/plans').set(SMARTPAY).expect(200);
  });

  it('a SmartPay payment needs a billing address: 4xx naming the field, nothing created', async () => {
    const order = await app.http.post('/v1/orders').set(API).send({
      customerId: newCustomerId(),
      offerId: OFFERS.monthlyUsd,
      currency: 'USD',
      country: 'US',
      gateway: 'smartpay',
    });
    const res = await app.http
      .post('/v1/payments')
      .set(API)
      .set('Idempotency-Key', randomUUID())
      .send({ orderId: (order.body as { id: string }).id, paymentMethod: { billingPeriod: 'P1M' } });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(JSON.stringify(res.body)).toContain('billingAddress');
  });
});

describe('gateway-managed billing (mode 2)', () => {
  it('three billing cycles, one failing: each reported to Cleeng once; a cancellation terminates the Cleeng subscription', async () => {
    const customerId = newCustomerId();
    const { payment, subscriptionId, cleengOrderId } = await startSubscription(customerId);

    // a second customer on the same offer and price reuses the plan
    const other = await startSubscription(newCustomerId());
    const plans = (
      (await app.http.get('/sandbox/smartpay/plans').set(SMARTPAY)).body as {
        data: { merchantMetadata?: string }[];
      }
    ).data;
    const key = `cleeng-offer:${OFFERS.monthlyUsd}:999:USD:P1M`;
    expect(plans.filter((p) => p.merchantMetadata === key)).toHaveLength(1);
    expect(other.subscriptionId).not.toBe(subscriptionId);

    // cycle 1: the widget stores the card, SmartPay charges the first (prepaid) cycle
    await storeCard(subscriptionId);
    const completed = await app.http
      .post(`/v1/payments/${payment.id}/complete`)
      .set(API)
      .send({ details: { subscriptionId } });
    expect(completed.status).toBe(200);
    expect(['pending', 'captured']).toContain((completed.body as Payment).status);
    await settle();
    const captured = await eventually(async () => {
      const p = await getPayment(payment.id);
      return p.status === 'captured' ? p : undefined;
    });
    expect(captured.externalPaymentId).toMatch(/^transaction-/);
    const initial = (await cleengPayments(customerId)).filter((p) => String(p.orderId) === cleengOrderId);
    expect(initial).toEqual([
      expect.objectContaining({
        status: 'captured',
        paymentOperation: 'initial-payment',
        externalPaymentId: captured.externalPaymentId,
      }),
    ]);
    const cleengSub = await cleengSubscription(customerId);
    expect(cleengSub?.status).toBe('active');

    // cycle 2 fails (insufficient funds), cycle 3 succeeds
    await app.http
      .post(`/sandbox/smartpay/test/subscriptions/${subscriptionId}/outcomes`)
      .send({ outcomes: ['insufficient_funds', 'succeeded'] })
      .expect(200);
    await advanceDays(31);
    const failedCycle = await lastBillingNotification(subscriptionId);
    await advanceDays(31);
    const renewals = await eventually(async () => {
      const list = (await cleengPayments(customerId)).filter((p) => !p.orderId); // externally managed: no order
      return list.length === 2 ? list : undefined;
    });
    expect(renewals[0]).toMatchObject({
      status: 'rejected',
      externalPaymentId: (failedCycle.data as { transactionId: string }).transactionId,
      subscriptionId: cleengSub?.subscriptionId,
    });
    expect(renewals[0]?.rejectedReason).toContain('PAY_CLE');
    expect(renewals[1]).toMatchObject({ status: 'captured', subscriptionId: cleengSub?.subscriptionId });

    // the same cycle notified again (a new notification id) is not reported twice; a redelivery is deduplicated
    const again = await lastBillingNotification(subscriptionId);
    for (const body of [again, again, failedCycle]) {
      const answer = (await app.http.post('/sandbox/smartpay/test/notifications/send').send(body)).body as {
        status: number;
      };
      expect(answer.status).toBe(200);
    }
    await settle();
    expect(await cleengPayments(customerId)).toHaveLength(3);

    // cancelled in SmartPay: the Cleeng subscription is terminated
    await app.http.post(`/sandbox/smartpay/test/subscriptions/${subscriptionId}/cancel`).expect(200);
    await settle();
    await eventually(async () => (await cleengSubscription(customerId))?.status === 'terminated');

    // SmartPay says it again (a new notification id): mirrored already, Cleeng is not asked a second time
    const cancelledAgain = {
      id: `event-${randomUUID()}`,
      createdAt: '2026-01-01T00:00:00.00Z',
      sourceSystem: 'subscription-module',
      origin: 'api',
      eventType: 'deleted',
      objectId: subscriptionId,
      data: { subscriptionId },
    };
    const answer = (await app.http.post('/sandbox/smartpay/test/notifications/send').send(cancelledAgain))
      .body as { status: number };
    expect(answer.status).toBe(200);
    await settle();
    const terminations = (
      (await app.http.get('/sandbox/cleeng/requests')).body as { method: string; path: string }[]
    ).filter((r) => r.method === 'PATCH' && r.path.endsWith(`/subscriptions/${cleengSub?.subscriptionId}`));
    expect(terminations).toHaveLength(1);
  });

  it('a failing first cycle rejects the initial payment and reports it rejected with the normalised decline', async () => {
    const customerId = newCustomerId();
    const { payment, subscriptionId, cleengOrderId } = await startSubscription(customerId);
    await storeCard(subscriptionId, '4000000000000069');
    await settle();
    const rejected = await eventually(async () => {
      const p = await getPayment(payment.id);
      return p.status === 'rejected' ? p : undefined;
    });
    expect(rejected.decline?.code).toBe('PAY_CEX');
    const reported = (await cleengPayments(customerId)).filter((p) => String(p.orderId) === cleengOrderId);
    expect(reported).toEqual([
      expect.objectContaining({ status: 'rejected', paymentOperation: 'initial-payment' }),
    ]);
  });

  it('notifications with wrong or missing Basic credentials are refused with 401 and not stored', async () => {
    const body = {
      id: `event-${randomUUID()}`,
      createdAt: '2026-01-01T00:00:00.00Z',
      sourceSystem: 'subscription-module',
      origin: 'api',
      eventType: 'status.updated',
      objectId: 'subscription-unknown',
      data: { subscriptionId: 'subscription-unknown', status: 'cancelled' },
    };
    for (const auth of ['invalid', 'missing']) {
      const answer = (
        await app.http.post('/sandbox/smartpay/test/notifications/send').query({ auth }).send(body)
      ).body as { status: number };
      expect(answer.status).toBe(401);
    }
    const stored = (await app.http.get('/ops/inbox').query({ source: 'smartpay' }).set(OPERATOR)).body as {
      payload: { eventKey?: string };
    }[];
    expect(stored.some((e) => e.payload.eventKey === body.id)).toBe(false);
    const ok = (await app.http.post('/sandbox/smartpay/test/notifications/send').send(body)).body as {
      status: number;
    };
    expect(ok.status).toBe(200);
  });
});

describe('connector-managed rebills (mode 3) through payment-series transactions', () => {
  it('each period is one PS transaction with the attempt key as partnerReference', async () => {
    const customerId = newCustomerId();
    const serie = await app.http
      .post('/sandbox/smartpay/payment-series')
      .set(SMARTPAY)
      .send({
        customerAccountId: customerId,
        currencyIsoCode: 'USD',
        billingAddress: CHECKOUT.billingAddress,
        consumer: CHECKOUT.consumer,
      })
      .expect(201);
    const serieId = (serie.body as { id: string }).id;
    await storeCard(serieId);
    const now = ((await app.http.get('/sandbox/clock')).body as { now: string }).now;
    const created = await app.http
      .post('/v1/subscriptions')
      .set(API)
      .send({
        customerId,
        gateway: 'smartpay',
        externalSubscriptionId: serieId,
        amount: { value: 999, currency: 'USD' },
        interval: 'P1M',
        nextBillingAt: now,
      });
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    await app.http.post('/ops/rebilling/run').set(OPERATOR).expect(200);
    await settle();
    const sub = (await app.http.get(`/v1/subscriptions/${id}`).set(API)).body as {
      attempts: { status: string; externalPaymentId?: string; idempotencyKey: string }[];
    };
    expect(sub.attempts[0]).toMatchObject({ status: 'captured' });
    const state = (await app.http.get('/sandbox/smartpay/test/state')).body as {
      paymentSeries: {
        id: string;
        transactions: { partnerReference: string; status: string; amount: number }[];
      }[];
    };
    const txs = state.paymentSeries.find((s) => s.id === serieId)?.transactions ?? [];
    expect(txs).toHaveLength(1);
    expect(txs[0]).toMatchObject({ status: 'succeeded', amount: 9.99 });
    expect(txs[0]?.partnerReference).toBe(sub.attempts[0]?.idempotencyKey);

    // the same key again (a retry after a lost answer) is the same transaction: nothing charged twice
    const replay = await app.http
      .post(`/sandbox/smartpay/payment-series/${serieId}/transactions`)
      .set(SMARTPAY)
      .send({ amount: 9.99, currencyIsoCode: 'USD', partnerReference: sub.attempts[0]?.idempotencyKey });
    expect(replay.status).toBe(201);
    expect((replay.body as { id: string }).id).toBe(sub.attempts[0]?.externalPaymentId);
  });

  it('POST /v1/subscriptions for SmartPay without the payment serie id is 400 naming the field', async () => {
    const res = await app.http
      .post('/v1/subscriptions')
      .set(API)
      .send({
        customerId: newCustomerId(),
        gateway: 'smartpay',
        amount: { value: 999, currency: 'USD' },
        interval: 'P1M',
        nextBillingAt: new Date().toISOString(),
      });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('externalSubscriptionId');
  });
});
