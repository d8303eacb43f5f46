import { eventually, startTestApp, TestApp } from './support/test-app';
import { advanceClock, cleengState, purchase, settle, FAST_INBOX } from './support/flows';

type CleengPayment = {
  id: number;
  status: string;
  paymentOperation: string;
  subscriptionId?: number | string | null;
  externalPaymentId?: string | null;
  refundedAmount?: number;
};

/** A whole subscription life on the sandbox: purchase, three renewals by the test clock, refund, termination. */
describe('full sandbox life cycle', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp(FAST_INBOX);
  });
  afterAll(async () => {
    await app.close();
  });

  it('purchase -> 3 renewals -> refund -> termination', async () => {
    const { subscription, payment } = await purchase(app);
    const renewals = async (): Promise<CleengPayment[]> =>
      ((await cleengState(app)).payments as CleengPayment[]).filter(
        (p) =>
          p.paymentOperation === 'recurring-payment' &&
          String(p.subscriptionId) === String(subscription.subscriptionId),
      );

    for (let month = 1; month <= 3; month += 1) {
      await advanceClock(app, 31);
      const captured = await eventually(async () => {
        const r = await renewals();
        return r.length === month && r.every((p) => p.status === 'captured') ? r : undefined;
      }, 15000);
      expect(captured).toHaveLength(month);
    }
    const charges = (await renewals()).map((p) => p.externalPaymentId);
    expect(new Set(charges).size).toBe(3);
    expect(charges).not.toContain(payment.externalPaymentId);

    const latest = (await renewals()).at(-1);
    await app.http
      .post('/sandbox/cleeng/operator/refund')
      .send({ paymentId: latest?.id, reason: 'cancelled by customer' });
    await settle(app);
    const refunded = await eventually(async () => {
      const p = ((await cleengState(app)).payments as CleengPayment[]).find((x) => x.id === latest?.id);
      return p?.status === 'refunded' ? p : undefined;
    });
    expect(refunded.refundedAmount).toBe(9.99);

    await app.http
      .post('/sandbox/cleeng/operator/terminate')
      .send({ subscriptionId: subscription.subscriptionId });
    await settle(app);
    const terminated = await eventually(async () => {
      const subs = (await cleengState(app)).subscriptions as { subscriptionId: number; status: string }[];
      const s = subs.find((x) => x.subscriptionId === subscription.subscriptionId);
      return s?.status === 'terminated' ? s : undefined;
    });
    expect(terminated.status).toBe('terminated');

    // a terminated subscription is not renewed again
    await advanceClock(app, 62);
    expect(await renewals()).toHaveLength(3);
  });
});
