import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { API_KEY, eventually, startTestApp, TestApp } from './support/test-app';
import { FAST_INBOX, purchase, sendCleengWebhook, settle } from './support/flows';

async function refundsOf(app: TestApp, paymentId: string): Promise<{ amount_minor: string }[]> {
  return app.app
    .get(DataSource)
    .query(`SELECT amount_minor FROM refunds WHERE payment_id = $1 ORDER BY created_at`, [paymentId]);
}

async function adyenRefunded(app: TestApp, pspReference: string): Promise<number | undefined> {
  const ledger = await app.http.get('/sandbox/adyen/ledger');
  return (ledger.body.payments as { pspReference: string; refundedValue: number }[]).find(
    (p) => p.pspReference === pspReference,
  )?.refundedValue;
}

describe('webhook edges: merchant account, topic case, refund identity', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp(FAST_INBOX);
  });
  afterAll(async () => {
    await app.close();
  });

  it('an authentic Adyen notification for another merchant account is acknowledged and not applied', async () => {
    const { payment } = await purchase(app);
    const pspReference = `F${randomUUID().replace(/-/g, '').slice(0, 15).toUpperCase()}`;
    const foreign = await app.http.post('/sandbox/adyen/webhooks/send').send({
      items: [
        {
          pspReference,
          originalReference: payment.externalPaymentId,
          merchantAccountCode: 'SomeOtherMerchantECOM',
          merchantReference: payment.id,
          amount: { value: 999, currency: 'USD' },
          eventCode: 'CAPTURE_FAILED',
          success: 'true',
          eventDate: new Date().toISOString(),
          reason: 'not ours',
        },
      ],
    });
    expect(foreign.body).toMatchObject({ status: 200, body: '[accepted]' });
    await settle(app);
    const after = await app.http.get(`/v1/payments/${payment.id}`).set('X-Api-Key', API_KEY);
    expect(after.body.status).toBe('captured');
    const stored = await app.app
      .get(DataSource)
      .query(`SELECT id FROM inbox_events WHERE source = 'adyen' AND event_key LIKE $1`, [
        `${pspReference}:%`,
      ]);
    expect(stored).toHaveLength(0);
  });

  it('Cleeng topics match case-insensitively (PaymentDetailsDeactivated as the seed writes it)', async () => {
    const { order, subscription } = await purchase(app);
    const cleengDetailsId = String(subscription.paymentDetailsId);
    const detailsStatus = async (): Promise<string | undefined> => {
      const res = await app.http
        .get('/v1/payment-details')
        .query({ customerId: order.customerId })
        .set('X-Api-Key', API_KEY);
      const list = res.body as { cleengPaymentDetailsId: string | null; status: string }[];
      return list.find((d) => d.cleengPaymentDetailsId === cleengDetailsId)?.status ?? 'absent';
    };
    // the local details learn their Cleeng id when Cleeng accepts the report
    expect(await eventually(async () => ((await detailsStatus()) === 'active' ? 'active' : undefined))).toBe(
      'active',
    );
    const answer = await sendCleengWebhook(app, 'PaymentDetailsDeactivated', {
      paymentDetailsId: subscription.paymentDetailsId,
      customerId: Number(order.customerId),
      paymentMethodId: 101,
    });
    expect(answer.status).toBe(200);
    await settle(app);
    // deleted details are no longer listed
    expect(await eventually(async () => ((await detailsStatus()) === 'absent' ? 'absent' : undefined))).toBe(
      'absent',
    );
    const events = await app.app
      .get(DataSource)
      .query(
        `SELECT event_type, status FROM inbox_events WHERE payload->>'topic' = 'PaymentDetailsDeactivated'`,
      );
    expect(events).toContainEqual({ event_type: 'paymentDetailsDeactivated', status: 'done' });
  });

  it('one refund delivered twice with its ids typed differently is one refund', async () => {
    const { cleengPayment, payment } = await purchase(app);
    const base = { currency: 'USD', paymentMethodId: 101, reason: 'duplicate charge' };
    await sendCleengWebhook(app, 'refundPayment', { ...base, paymentId: cleengPayment.id, amount: 2.5 });
    await settle(app);
    await sendCleengWebhook(app, 'refundPayment', {
      ...base,
      paymentId: String(cleengPayment.id),
      amount: '2.50',
    });
    await settle(app);
    expect(await refundsOf(app, payment.id)).toHaveLength(1);
    expect(await adyenRefunded(app, payment.externalPaymentId)).toBe(250);
  });

  it('two distinct refunds of the same amount are two refunds', async () => {
    const { cleengPayment, payment } = await purchase(app);
    const base = { paymentId: cleengPayment.id, amount: 1, currency: 'USD', paymentMethodId: 101 };
    await sendCleengWebhook(app, 'refundPayment', { ...base, createdAt: '2026-12-01T10:00:00Z' });
    await sendCleengWebhook(app, 'refundPayment', { ...base, createdAt: '2026-12-01T10:05:00Z' });
    await settle(app);
    await eventually(async () => (await refundsOf(app, payment.id)).length === 2);
    expect(await adyenRefunded(app, payment.externalPaymentId)).toBe(200);
  });

  it('a refundPayment whose Cleeng payment id belongs to no local payment never refunds another one', async () => {
    const { cleengPayment, payment } = await purchase(app);
    await eventually(async () => {
      const rows: { cleeng_payment_id: string | null }[] = await app.app
        .get(DataSource)
        .query(`SELECT cleeng_payment_id FROM payments WHERE id = $1`, [payment.id]);
      return rows[0]?.cleeng_payment_id === String(cleengPayment.id);
    });
    await sendCleengWebhook(app, 'refundPayment', {
      paymentId: 999_999_999,
      externalPaymentId: payment.externalPaymentId,
      amount: 1,
      currency: 'USD',
      paymentMethodId: 101,
    });
    await settle(app);
    expect(await refundsOf(app, payment.id)).toHaveLength(0);
    expect(await adyenRefunded(app, payment.externalPaymentId)).toBe(0);
  });
});
