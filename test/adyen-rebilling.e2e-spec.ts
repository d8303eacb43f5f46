import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import {
  card,
  CARDS,
  cleengState,
  existingCleengSubscription,
  FAST_INBOX,
  newCustomerId,
  OPERATOR,
  settle,
} from './support/flows';
import { API_KEY, eventually, startTestApp, TestApp } from './support/test-app';

/**
 * A connector-managed Adyen subscription (billing mode 3 on a card gateway): created over the REST API with
 * stored payment details, rebilled on the test clock as a merchant-initiated charge of the stored token.
 */
const API = { 'X-Api-Key': API_KEY };
let app: TestApp;

interface AdyenLedgerPayment {
  pspReference: string;
  merchantReference: string;
  amount: { value: number; currency: string };
  status: string;
  capturedValue: number;
  storedPaymentMethodId?: string;
  shopperReference?: string;
  shopperInteraction: string;
  recurringProcessingModel?: string;
}

async function clockNow(): Promise<Date> {
  return new Date(((await app.http.get('/sandbox/clock')).body as { now: string }).now);
}

beforeAll(async () => {
  app = await startTestApp({ ...FAST_INBOX, REBILL_CRON: 'off' });
});

afterAll(async () => {
  await app?.close();
});

describe('connector-managed Adyen subscription', () => {
  it('rebills the stored card merchant-initiated under the attempt id, records the period, reports to Cleeng', async () => {
    const customerId = newCustomerId();
    const details = await app.http
      .post('/v1/payment-details')
      .set(API)
      .send({ customerId, gateway: 'adyen', paymentMethod: card(CARDS.approve), currency: 'USD' });
    expect(details.status).toBe(201);
    const paymentDetailsId = (details.body as { id: string }).id;
    const [stored] = (
      (await app.http.get('/sandbox/adyen/stored-payment-methods').query({})).body as {
        id: string;
        shopperReference: string;
      }[]
    ).slice(-1);

    const withoutCard = await app.http
      .post('/v1/subscriptions')
      .set(API)
      .set('Idempotency-Key', randomUUID())
      .send({
        customerId,
        gateway: 'adyen',
        amount: { value: 1299, currency: 'USD' },
        interval: 'P1M',
        nextBillingAt: new Date().toISOString(),
      });
    expect(withoutCard.status).toBe(400);
    expect((withoutCard.body as { details: { field: string }[] }).details.map((d) => d.field)).toEqual([
      'paymentDetailsId',
    ]);

    const cleengSubscription = await existingCleengSubscription(app, {
      customerId,
      offerId: 'S100000001_US',
      paymentMethodId: 101,
      netAmount: 12.99,
      currency: 'USD',
    });
    const nextBillingAt = new Date((await clockNow()).getTime() + 86_400_000);
    const created = await app.http
      .post('/v1/subscriptions')
      .set(API)
      .set('Idempotency-Key', randomUUID())
      .send({
        customerId,
        gateway: 'adyen',
        paymentDetailsId,
        cleengSubscriptionId: cleengSubscription,
        offerId: 'S100000001_US',
        amount: { value: 1299, currency: 'USD' },
        interval: 'P1M',
        nextBillingAt: nextBillingAt.toISOString(),
      });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'active', gateway: 'adyen', paymentDetailsId });
    expect(JSON.stringify(created.body)).not.toContain(stored?.id ?? 'no-token');
    const id = (created.body as { id: string }).id;

    const advanced = await app.http.post('/sandbox/clock/advance').send({ days: 1, minutes: 5 });
    expect(advanced.status).toBe(200);
    await settle(app);

    const view = (await app.http.get(`/v1/subscriptions/${id}`).set(API)).body as {
      status: string;
      attempts: { id: string; status: string; idempotencyKey: string; externalPaymentId?: string }[];
    };
    expect(view.status).toBe('active');
    expect(view.attempts).toHaveLength(1);
    const attempt = view.attempts[0];
    expect(attempt).toMatchObject({ status: 'captured', externalPaymentId: expect.any(String) });

    // at the emulator: one merchant-initiated charge of the stored token, keyed by the attempt
    const ledger = (await app.http.get('/sandbox/adyen/ledger').query({ merchantReference: attempt?.id }))
      .body as { payments: AdyenLedgerPayment[]; requests: number };
    expect(ledger.requests).toBe(1);
    expect(ledger.payments).toEqual([
      expect.objectContaining({
        pspReference: attempt?.externalPaymentId,
        amount: { value: 1299, currency: 'USD' },
        status: 'captured',
        capturedValue: 1299,
        storedPaymentMethodId: stored?.id,
        shopperReference: stored?.shopperReference,
        shopperInteraction: 'ContAuth',
        recurringProcessingModel: 'Subscription',
      }),
    ]);
    const keys = (await app.http.get('/sandbox/adyen/idempotency')).body as unknown;
    expect(JSON.stringify(keys)).toContain(attempt?.idempotencyKey ?? 'no-key');

    // the period row: charged once, so the same period can never be charged again
    const rows = await app.app
      .get(DataSource)
      .query<{ status: string; amount_minor: string; external_payment_id: string }[]>(
        `SELECT status, amount_minor, external_payment_id FROM rebill_attempts WHERE subscription_id = $1`,
        [id],
      );
    expect(rows).toEqual([
      { status: 'captured', amount_minor: '1299', external_payment_id: attempt?.externalPaymentId },
    ]);

    // reported to Cleeng as an externally managed payment of the subscription
    const payment = await eventually(async () => {
      await app.http.post('/ops/outbox/dispatch').set(OPERATOR);
      return (await cleengState(app)).payments.find(
        (p) => p.externalPaymentId === attempt?.externalPaymentId,
      );
    });
    expect(payment).toMatchObject({ status: 'captured', subscriptionId: cleengSubscription });
  });
});
