import { DataSource } from 'typeorm';
import { API_KEY, eventually, startTestApp, TestApp } from './support/test-app';
import {
  advanceClock,
  cleengState,
  inboxEvents,
  OPERATOR,
  purchase,
  sendCleengWebhook,
  settle,
  FAST_INBOX,
  renewalData,
} from './support/flows';

type CleengPayment = {
  id: number;
  orderId: number;
  status: string;
  paymentOperation: string;
  externalPaymentId?: string | null;
  subscriptionId?: number | string | null;
  rejectedReason?: string | null;
  refundedAmount?: number;
};

async function renewalsOf(app: TestApp, subscriptionId: number): Promise<CleengPayment[]> {
  const state = await cleengState(app);
  return (state.payments as CleengPayment[]).filter(
    (p) => p.paymentOperation === 'recurring-payment' && String(p.subscriptionId) === String(subscriptionId),
  );
}

async function adyenPayments(app: TestApp) {
  const res = await app.http.get('/sandbox/adyen/ledger');
  return res.body.payments as {
    pspReference: string;
    merchantReference: string;
    status: string;
    shopperInteraction: string;
    recurringProcessingModel?: string;
    storedPaymentMethodId?: string;
    capturedValue: number;
    refundedValue: number;
  }[];
}

describe('Cleeng-managed recurring billing (webhooks from the Cleeng sandbox)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp(FAST_INBOX);
  });
  afterAll(async () => {
    await app.close();
  });
  afterEach(async () => {
    await app.http.post('/sandbox/cleeng/dunning').send({ authoriseFirst: false });
    await app.http.delete('/sandbox/faults/cleeng');
  });

  it('capture-only renewal: recurring order, merchant-initiated charge with the stored token, reported captured', async () => {
    const { subscription } = await purchase(app);
    await advanceClock(app, 31);
    const renewals = await eventually(async () => {
      const r = await renewalsOf(app, subscription.subscriptionId);
      return r.length > 0 && r.every((p) => p.status === 'captured') ? r : undefined;
    });
    expect(renewals).toHaveLength(1);
    const psp = renewals[0]?.externalPaymentId ?? '';
    const charge = (await adyenPayments(app)).find((p) => p.pspReference === psp);
    expect(charge).toMatchObject({
      shopperInteraction: 'ContAuth',
      recurringProcessingModel: 'Subscription',
      capturedValue: 999,
    });
    expect(charge?.storedPaymentMethodId).toBeTruthy();
    const renewed = (
      (await cleengState(app)).subscriptions as { subscriptionId: number; status: string }[]
    ).find((s) => s.subscriptionId === subscription.subscriptionId);
    expect(renewed?.status).toBe('active');
  });

  it('authorise-first renewal: authorise, report authorized, capture on Cleeng request, PATCH captured', async () => {
    await app.http.post('/sandbox/cleeng/dunning').send({ authoriseFirst: true });
    const { subscription } = await purchase(app);
    await advanceClock(app, 31);
    const renewals = await eventually(async () => {
      const r = await renewalsOf(app, subscription.subscriptionId);
      return r.length > 0 && r[0]?.status === 'captured' ? r : undefined;
    }, 15000);
    expect(renewals).toHaveLength(1);
    const charge = (await adyenPayments(app)).find((p) => p.pspReference === renewals[0]?.externalPaymentId);
    // authorised first (manual capture), then captured on the capture webhook
    expect(charge).toMatchObject({ status: 'captured', capturedValue: 999, shopperInteraction: 'ContAuth' });
    const hooks = (await app.http.get('/sandbox/cleeng/webhooks')).body as {
      topic: string;
      data: { subscriptionId: string; paymentId?: number };
    }[];
    const mine = hooks
      .filter((h) => h.data.subscriptionId === String(subscription.subscriptionId))
      .map((h) => h.topic);
    expect(mine).toEqual(
      expect.arrayContaining([
        'subscriptionReadyForPaymentAuthorisation',
        'subscriptionReadyForPaymentCapture',
      ]),
    );
  });

  it('a declined renewal is reported rejected; after the last dunning attempt the subscription is terminated', async () => {
    const { subscription } = await purchase(app);
    const state = await cleengState(app);
    const details = state.paymentDetails.find((d) => d.id === subscription.paymentDetailsId);
    // from now on the stored card is refused (Adyen refusal 2 -> PAY_DEC, soft)
    await app.http
      .post(`/sandbox/adyen/stored-payment-methods/${details?.token ?? ''}/behaviour`)
      .send({ behaveAs: '4000000000000002' });
    await advanceClock(app, 31);
    const first = await eventually(async () => {
      const r = await renewalsOf(app, subscription.subscriptionId);
      return r.length > 0 ? r : undefined;
    });
    expect(first[0]).toMatchObject({ status: 'rejected' });
    expect(first[0]?.rejectedReason).toContain('declined');
    for (let day = 0; day < 9; day += 1) {
      await advanceClock(app, 1);
    }
    const terminated = await eventually(async () => {
      const subs = (await cleengState(app)).subscriptions as { subscriptionId: number; status: string }[];
      const s = subs.find((x) => x.subscriptionId === subscription.subscriptionId);
      return s?.status === 'terminated' ? s : undefined;
    }, 15000);
    expect(terminated.status).toBe('terminated');
    const attempts = await renewalsOf(app, subscription.subscriptionId);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(attempts.every((p) => p.status === 'rejected')).toBe(true);
  });

  it('a webhook delivered three times at once has one effect', async () => {
    const { subscription, order } = await purchase(app);
    const data = await renewalData(app, { subscription, order }, '2027-01-01T00:00:00Z');
    const answers = await Promise.all(
      [1, 2, 3].map(() => sendCleengWebhook(app, 'subscriptionReadyForPaymentCapture', data)),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers.filter((a) => (a.body as { duplicate: boolean }).duplicate)).toHaveLength(2);
    await settle(app);
    const renewals = await eventually(async () => {
      const r = await renewalsOf(app, subscription.subscriptionId);
      return r.length > 0 ? r : undefined;
    });
    expect(renewals).toHaveLength(1);
    const events = (await inboxEvents(app, 'cleeng')).filter(
      (e) =>
        e.payload.data?.dunningAttemptDate === '2027-01-01T00:00:00Z' &&
        String(e.payload.data.subscriptionId) === String(subscription.subscriptionId),
    );
    expect(events).toHaveLength(1);
    expect(events[0]?.status).toBe('done');
  });

  it('refuses a bad or missing signature (401) and malformed bodies (400); nothing is stored', async () => {
    const before = (await inboxEvents(app, 'cleeng')).length;
    const data = { subscriptionId: '1', customerId: 1, offerId: 'S100000001_US', paymentMethodId: 101 };
    expect((await sendCleengWebhook(app, 'subscriptionReadyForTermination', data, 'invalid')).status).toBe(
      401,
    );
    expect((await sendCleengWebhook(app, 'subscriptionReadyForTermination', data, 'missing')).status).toBe(
      401,
    );
    const garbage = await app.http
      .post('/webhooks/cleeng')
      .set('Content-Type', 'application/json')
      .send('{"topic":');
    expect(garbage.status).toBe(401); // unsigned garbage: the signature is checked before anything else
    const { createHmac } = await import('node:crypto');
    const body = '{"topic":"refundPayment"}';
    const signed = await app.http
      .post('/webhooks/cleeng')
      .set('Content-Type', 'application/json')
      .set(
        'X-Cleeng-Signature',
        createHmac('sha256', 'sandbox-cleeng-webhook-secret').update(body).digest('hex'),
      )
      .send(body);
    expect(signed.status).toBe(400);
    expect(signed.body.code).toBe('WEBHOOK_MALFORMED');
    const notJson = 'not json';
    const signedGarbage = await app.http
      .post('/webhooks/cleeng')
      .set('Content-Type', 'application/json')
      .set(
        'X-Cleeng-Signature',
        createHmac('sha256', 'sandbox-cleeng-webhook-secret').update(notJson).digest('hex'),
      )
      .send(notJson);
    expect(signedGarbage.status).toBe(400);
    expect((await inboxEvents(app, 'cleeng')).length).toBe(before);
  });

  it('termination webhook terminates the subscription in Cleeng', async () => {
    const { subscription } = await purchase(app);
    await app.http
      .post('/sandbox/cleeng/operator/terminate')
      .send({ subscriptionId: subscription.subscriptionId });
    await settle(app);
    const s = await eventually(async () => {
      const subs = (await cleengState(app)).subscriptions as { subscriptionId: number; status: string }[];
      const found = subs.find((x) => x.subscriptionId === subscription.subscriptionId);
      return found?.status === 'terminated' ? found : undefined;
    });
    expect(s.status).toBe('terminated');
  });

  it('events of other payment methods are stored and ignored', async () => {
    const answer = await sendCleengWebhook(app, 'subscriptionReadyForTermination', {
      subscriptionId: '77',
      paymentMethodId: 999,
    });
    expect(answer.status).toBe(200);
    await settle(app);
    const events = (await inboxEvents(app, 'cleeng')).filter((e) => e.payload.data?.subscriptionId === '77');
    expect(events[0]?.status).toBe('ignored');
  });

  it('Cleeng down during a renewal: retried until Cleeng is back, charged once, reported once', async () => {
    const { subscription } = await purchase(app);
    await app.http.post('/sandbox/faults/cleeng').send({ errorRate: 1, failStatus: 503 });
    await app.http.post('/sandbox/clock/advance').send({ days: 31 });
    await app.http.get('/sandbox/cleeng/webhooks/idle');
    // the renewal webhook is stored; processing it fails while Cleeng is down and is retried
    const waiting = await eventually(async () => {
      await app.http.post('/ops/inbox/process').set(OPERATOR);
      const events = (await inboxEvents(app, 'cleeng')).filter(
        (e) => e.payload.data?.subscriptionId === String(subscription.subscriptionId) && e.attempts > 0,
      );
      return events.length > 0 ? events : undefined;
    });
    expect(waiting[0]?.status).toBe('pending');
    expect(waiting[0]?.lastError).toContain('Cleeng');
    expect(await renewalsOf(app, subscription.subscriptionId)).toHaveLength(0);

    await app.http.delete('/sandbox/faults/cleeng');
    const renewals = await eventually(async () => {
      await settle(app);
      const r = await renewalsOf(app, subscription.subscriptionId);
      return r.length > 0 ? r : undefined;
    }, 20000);
    expect(renewals).toHaveLength(1);
    expect(renewals[0]?.status).toBe('captured');
    const charges = (await adyenPayments(app)).filter(
      (p) => p.pspReference === renewals[0]?.externalPaymentId,
    );
    expect(charges).toHaveLength(1);
    const db = app.app.get(DataSource);
    const local: { n: string }[] = await db.query(
      `SELECT count(*)::text AS n FROM payments p JOIN orders o ON o.id = p.order_id WHERE o.cleeng_subscription_id = $1`,
      [String(subscription.subscriptionId)],
    );
    expect(local[0]?.n).toBe('1');
  });

  it('exposes inbox state to operators', async () => {
    const summary = await app.http.get('/ops/inbox/summary').set(OPERATOR);
    expect(summary.status).toBe(200);
    expect(summary.body.done).toBeGreaterThan(0);
    expect((await app.http.get('/ops/inbox').set('X-Api-Key', API_KEY)).status).toBe(401);
  });
});
