import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { API_KEY, eventually, startTestApp, TestApp } from './support/test-app';
import {
  adyenLedger,
  cleengPaymentsForOrder,
  cleengState,
  createOrder,
  pay,
  purchase,
  renewalData,
  sendCleengWebhook,
  settle,
} from './support/flows';

/** Unknown outcomes are resolved by asking again under the same key, never by assuming a decline. */
describe('unknown-outcome reconciler', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({
      RECONCILE_INTERVAL_MS: '200',
      RECONCILE_UNKNOWN_AFTER_MS: '0',
      RECONCILE_CANCEL_AFTER_MS: '2000',
      INBOX_POLL_INTERVAL_MS: '100',
      INBOX_BACKOFF_BASE_MS: '100',
    });
    // open payments and refunds left by earlier files on this database would be reconciled here too and take the
    // Adyen faults injected below, so their next check is put out of this file's reach
    const db = app.app.get(DataSource);
    await db.query(
      `UPDATE payments SET next_check_at = 'infinity'
       WHERE status IN ('pending', 'unknown', 'action_required', 'authorised')`,
    );
    await db.query(`UPDATE refunds SET next_check_at = 'infinity' WHERE status IN ('requested', 'unknown')`);
  });
  afterAll(async () => {
    await app.close();
  });
  afterEach(async () => {
    await app.http.post('/sandbox/adyen/webhooks/resume');
    await app.http.delete('/sandbox/faults/adyen');
  });

  it('replays a merchant-initiated renewal under the same key: one charge, reported captured', async () => {
    const { subscription, order } = await purchase(app);
    await app.http.post('/sandbox/adyen/webhooks/pause');
    // every try of the renewal charge times out after Adyen processed the first one
    await app.http.post('/sandbox/faults/adyen').send({ hangNext: 3, hangMs: 2000 });
    await sendCleengWebhook(
      app,
      'subscriptionReadyForPaymentCapture',
      await renewalData(app, { subscription, order }, `reconcile-${randomUUID()}`),
    );
    const renewal = await eventually(async () => {
      await settle(app);
      const p = (
        (await cleengState(app)).payments as {
          paymentOperation: string;
          subscriptionId?: unknown;
          status: string;
          externalPaymentId?: string;
        }[]
      ).find(
        (x) =>
          x.paymentOperation === 'recurring-payment' &&
          String(x.subscriptionId) === String(subscription.subscriptionId),
      );
      return p?.status === 'captured' ? p : undefined;
    }, 20000);
    const ledger = await app.http.get('/sandbox/adyen/ledger');
    const charges = (ledger.body.payments as { pspReference: string; capturedValue: number }[]).filter(
      (p) => p.pspReference === renewal.externalPaymentId,
    );
    expect(charges).toHaveLength(1);
    expect(charges[0]?.capturedValue).toBe(999);
  });

  it('a customer payment never answered is cancelled by reference after the grace period and reported rejected', async () => {
    await app.http.post('/sandbox/adyen/webhooks/pause');
    await app.http.post('/sandbox/faults/adyen').send({ hangNext: 3, hangMs: 2000 });
    const order = await createOrder(app);
    const res = await pay(app, order.id);
    expect(res.body.status).toBe('unknown');
    const settled = await eventually(async () => {
      const read = await app.http.get(`/v1/payments/${res.body.id}`).set('X-Api-Key', API_KEY);
      return read.body.status === 'rejected' ? read.body : undefined;
    }, 20000);
    expect(settled.decline).toMatchObject({ code: 'GW_TIMEOUT', class: 'technical' });
    const ledger = await adyenLedger(app, res.body.id);
    expect(ledger.payments.every((p) => p.status === 'cancelled')).toBe(true);
    expect(ledger.payments.every((p) => p.capturedValue === 0)).toBe(true);
    const reported = await eventually(async () => {
      const payments = await cleengPaymentsForOrder(app, order.cleengOrderId);
      return payments.length > 0 ? payments : undefined;
    });
    expect(reported[0]?.status).toBe('rejected');
  });
});
