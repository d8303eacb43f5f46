import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { eventually, startTestApp, TestApp } from './support/test-app';
import { cleengState, purchase, sendCleengWebhook, settle, FAST_INBOX, renewalData } from './support/flows';

type RequestLog = { method: string; path: string; status: number }[];

async function cleengRequests(app: TestApp, method: string, path: RegExp): Promise<RequestLog> {
  const res = await app.http.get('/sandbox/cleeng/requests');
  return (res.body as RequestLog).filter((r) => r.method === method && path.test(r.path) && r.status < 300);
}

/** Every topic delivered three times at once has exactly one effect. */
describe('Cleeng webhooks delivered three times concurrently', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp(FAST_INBOX);
  });
  afterAll(async () => {
    await app.close();
  });

  async function thrice(topic: string, data: Record<string, unknown>): Promise<void> {
    const answers = await Promise.all([1, 2, 3].map(() => sendCleengWebhook(app, topic, data)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    await settle(app);
  }

  it('subscriptionReadyForTermination: one PATCH', async () => {
    const { subscription } = await purchase(app);
    await thrice('subscriptionReadyForTermination', {
      subscriptionId: String(subscription.subscriptionId),
      paymentMethodId: 101,
    });
    const patches = await cleengRequests(
      app,
      'PATCH',
      new RegExp(`/subscriptions/${subscription.subscriptionId}$`),
    );
    expect(patches).toHaveLength(1);
  });

  it('refundPayment: one refund at the gateway, one PATCH', async () => {
    const { cleengPayment, payment } = await purchase(app);
    await thrice('refundPayment', {
      paymentId: cleengPayment.id,
      amount: 2.5,
      currency: 'USD',
      paymentMethodId: 101,
      reason: 'dup',
    });
    const db = app.app.get(DataSource);
    const refunds = await db.query<{ status: string }[]>(`SELECT status FROM refunds WHERE payment_id = $1`, [
      payment.id,
    ]);
    expect(refunds).toHaveLength(1);
    const patched = await eventually(async () => {
      const p = await cleengRequests(app, 'PATCH', new RegExp(`/payments/${cleengPayment.id}$`));
      return p.length > 0 ? p : undefined;
    });
    expect(patched).toHaveLength(1);
    const ledger = await app.http.get('/sandbox/adyen/ledger');
    const entry = (ledger.body.payments as { pspReference: string; refundedValue: number }[]).find(
      (p) => p.pspReference === payment.externalPaymentId,
    );
    expect(entry?.refundedValue).toBe(250);
  });

  it('subscriptionReadyForPaymentAuthorisation then capturePayment: one authorisation, one capture', async () => {
    const { subscription, order } = await purchase(app);
    await thrice(
      'subscriptionReadyForPaymentAuthorisation',
      await renewalData(app, { subscription, order }, `dup-${randomUUID()}`),
    );
    const authorised = await eventually(async () => {
      const found = (
        (await cleengState(app)).payments as {
          id: number;
          paymentOperation: string;
          subscriptionId?: unknown;
          status: string;
        }[]
      ).filter(
        (p) =>
          p.paymentOperation === 'recurring-payment' &&
          String(p.subscriptionId) === String(subscription.subscriptionId),
      );
      return found.length > 0 ? found : undefined;
    });
    expect(authorised).toHaveLength(1);
    await thrice('capturePayment', { paymentId: authorised[0]?.id, paymentMethodId: 101 });
    const captured = await eventually(async () => {
      const p = (
        (await cleengState(app)).payments as { id: number; status: string; externalPaymentId: string }[]
      ).find((x) => x.id === authorised[0]?.id);
      return p?.status === 'captured' ? p : undefined;
    });
    const ledger = await app.http.get('/sandbox/adyen/ledger');
    const entry = (
      ledger.body.payments as {
        pspReference: string;
        capturedValue: number;
        modifications: { type?: string }[];
      }[]
    ).find((p) => p.pspReference === captured.externalPaymentId);
    expect(entry?.capturedValue).toBe(999);
    expect(
      await cleengRequests(app, 'PATCH', new RegExp(`/payments/${authorised[0]?.id ?? 0}$`)),
    ).toHaveLength(1);
  });

  it('paymentDetailsDeactivated: one DELETE of the details', async () => {
    const { subscription } = await purchase(app);
    await thrice('paymentDetailsDeactivated', {
      paymentDetailsId: subscription.paymentDetailsId,
      paymentMethodId: 101,
    });
    const deletes = await eventually(async () => {
      const d = await cleengRequests(
        app,
        'DELETE',
        new RegExp(`/payment_details/${subscription.paymentDetailsId}$`),
      );
      return d.length > 0 ? d : undefined;
    });
    expect(deletes).toHaveLength(1);
  });
});
