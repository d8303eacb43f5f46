import { randomUUID } from 'node:crypto';
import { FAST_INBOX, newCustomerId, OPERATOR } from './support/flows';
import { API_KEY, eventually, startTestApp, TestApp } from './support/test-app';

/**
 * Connector-managed subscriptions are externally managed subscriptions for Cleeng (seed 000, externally managed
 * part): the first captured charge is reported without a subscription id so Cleeng creates the payment AND the
 * subscription; the connector finds that subscription (`GET /3.1/subscriptions`, by the payment's
 * externalPaymentId) and links it; every later charge names it; refunds and chargebacks made at the gateway
 * are reported on the Cleeng payment. Cleverbridge drives it here (merchant of record: initial purchase through
 * ProcessCart, refunds and chargebacks only by notification), all against the sandbox Cleeng.
 */
const API = { 'X-Api-Key': API_KEY };
const OFFER = 'S100000001_US';
const CLEVERBRIDGE_METHOD = 104;

interface CleengPayment {
  id: number;
  orderId: number | null;
  status: string;
  customerId: number;
  offerId: string;
  amount: number;
  currency: string;
  paymentMethodId: number;
  externalPaymentId: string | null;
  paymentOperation: string;
  refundedAmount: number;
  refundType: string | null;
  subscriptionId?: number;
}

interface CleengSubscription {
  subscriptionId: number;
  customerId: number;
  offerId: string;
  status: string;
  isExternallyManaged: boolean;
  latestPaymentExternalId: string | null;
  renewalCycle: { completed: number };
}

interface Subscription {
  id: string;
  status: string;
  externalSubscriptionId?: string;
  cleengSubscriptionId?: string;
  nextBillingAt: string;
  attempts: { status: string; externalPaymentId?: string; adjustments: { type: string }[] }[];
}

interface OutboxRow {
  kind: string;
  aggregateId: string;
  status: string;
  lastError: string | null;
  payload: { method: string; path: string; body?: Record<string, unknown> };
}

let app: TestApp;
let seq = 0;

async function clockNow(): Promise<Date> {
  return new Date(((await app.http.get('/sandbox/clock')).body as { now: string }).now);
}

/** Every Cleverbridge notification processed, every report to Cleeng delivered (or given up on). */
async function settle(): Promise<void> {
  for (let round = 0; round < 4; round += 1) {
    await app.http.get('/sandbox/cleverbridge/webhooks/idle').query({ timeoutMs: 5000 });
    await app.http.post('/ops/inbox/process').set(OPERATOR);
    await app.http.post('/ops/outbox/dispatch').set(OPERATOR);
  }
}

async function cleeng(): Promise<{ payments: CleengPayment[]; subscriptions: CleengSubscription[] }> {
  return (await app.http.get('/sandbox/cleeng/state')).body as {
    payments: CleengPayment[];
    subscriptions: CleengSubscription[];
  };
}

async function sub(id: string): Promise<Subscription> {
  const res = await app.http.get(`/v1/subscriptions/${id}`).set(API);
  expect(res.status).toBe(200);
  return res.body as Subscription;
}

async function outbox(aggregateId: string): Promise<OutboxRow[]> {
  const rows = (await app.http.get('/ops/outbox').set(OPERATOR)).body as OutboxRow[];
  return rows.filter((m) => m.aggregateId === aggregateId).reverse();
}

/** Waits until every report of the subscription reached Cleeng. */
async function delivered(aggregateId: string): Promise<OutboxRow[]> {
  return eventually(async () => {
    await settle();
    const rows = await outbox(aggregateId);
    return rows.length > 0 && rows.every((m) => m.status === 'delivered') ? rows : undefined;
  });
}

/** Our subscription waiting for its Cleverbridge subscription (the first purchase names it), billed from tomorrow. */
async function pendingSubscription(customerId: string): Promise<string> {
  const nextBillingAt = new Date((await clockNow()).getTime() + 86_400_000).toISOString();
  const res = await app.http
    .post('/v1/subscriptions')
    .set(API)
    .send({
      customerId,
      gateway: 'cleverbridge',
      offerId: OFFER,
      productId: '100001',
      amount: { value: 999, currency: 'USD' },
      interval: 'P1M',
      nextBillingAt,
    });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ status: 'pending' });
  return (res.body as { id: string }).id;
}

/** The initial purchase in Cleverbridge (ProcessCart), naming our subscription. */
async function initialPurchase(customerId: string, subscriptionId: string): Promise<string> {
  seq += 1;
  const res = await app.http
    .post('/v1/purchases')
    .set(API)
    .set('Idempotency-Key', randomUUID())
    .send({
      customer: { customerReferenceId: `em-${customerId}-${seq}` },
      items: [{ productId: '100001', quantity: 1, dynamicPrice: { value: 999, currency: 'USD' } }],
      extraParameters: { 'x-connector-subscription': subscriptionId },
    });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ status: 'captured', purchaseId: expect.any(String) });
  return (res.body as { purchaseId: string }).purchaseId;
}

beforeAll(async () => {
  app = await startTestApp({ ...FAST_INBOX, REBILL_CRON: 'off' });
});

afterAll(async () => {
  await app?.close();
});

describe('Cleverbridge as an externally managed Cleeng subscription', () => {
  it('the initial purchase creates the Cleeng payment and subscription; we link it; the rebill names it', async () => {
    const customerId = newCustomerId();
    const id = await pendingSubscription(customerId);
    const purchaseId = await initialPurchase(customerId, id);
    const [create, link] = await delivered(id);
    expect(create?.payload).toEqual({
      method: 'POST',
      path: '/payments',
      body: {
        customerId: Number(customerId),
        status: 'captured',
        offerId: OFFER,
        paymentMethodId: CLEVERBRIDGE_METHOD,
        netAmount: 9.99,
        taxAmount: 0,
        currency: 'USD',
        externalPaymentId: purchaseId,
      },
    });
    expect(link?.payload.method).toBe('GET');

    const state = await cleeng();
    const initial = state.payments.filter((p) => p.externalPaymentId === purchaseId);
    expect(initial).toEqual([
      expect.objectContaining({
        orderId: null,
        status: 'captured',
        customerId: Number(customerId),
        offerId: OFFER,
        amount: 9.99,
        currency: 'USD',
        paymentOperation: 'initial-payment',
      }),
    ]);
    const created = state.subscriptions.filter((s) => s.customerId === Number(customerId));
    expect(created).toEqual([
      expect.objectContaining({
        offerId: OFFER,
        status: 'active',
        isExternallyManaged: true,
        latestPaymentExternalId: purchaseId,
      }),
    ]);
    const cleengSubscriptionId = created[0]?.subscriptionId;
    const linked = await sub(id);
    expect(linked).toMatchObject({ status: 'active', cleengSubscriptionId: String(cleengSubscriptionId) });

    // the first rebill: reported on the linked subscription, which Cleeng renews
    const due = new Date(linked.nextBillingAt).getTime() - (await clockNow()).getTime();
    await app.http
      .post('/sandbox/clock/advance')
      .send({ minutes: Math.ceil(due / 60_000) + 1 })
      .expect(200);
    await app.http.post('/ops/rebilling/run').set(OPERATOR).expect(200);
    const rows = await delivered(id);
    const rebilled = (await sub(id)).attempts[0];
    expect(rebilled).toMatchObject({ status: 'captured', externalPaymentId: expect.any(String) });
    expect(rows.map((m) => [m.kind, m.payload.body?.subscriptionId])).toEqual([
      ['cleeng.ems-payment.create', undefined],
      ['cleeng.subscription.link', undefined],
      ['cleeng.ems-payment.create', cleengSubscriptionId],
    ]);
    const after = await cleeng();
    expect(after.payments.find((p) => p.externalPaymentId === rebilled?.externalPaymentId)).toMatchObject({
      status: 'captured',
      paymentOperation: 'recurring-payment',
      subscriptionId: cleengSubscriptionId,
    });
    expect(after.subscriptions.find((s) => s.subscriptionId === cleengSubscriptionId)).toMatchObject({
      latestPaymentExternalId: rebilled?.externalPaymentId,
      renewalCycle: { completed: 1 },
    });
    expect(after.subscriptions.filter((s) => s.customerId === Number(customerId))).toHaveLength(1);
  });

  it('a refund of the initial purchase and a chargeback of a rebill reach Cleeng once each', async () => {
    const customerId = newCustomerId();
    const id = await pendingSubscription(customerId);
    const purchaseId = await initialPurchase(customerId, id);
    await delivered(id);
    const due = new Date((await sub(id)).nextBillingAt).getTime() - (await clockNow()).getTime();
    await app.http
      .post('/sandbox/clock/advance')
      .send({ minutes: Math.ceil(due / 60_000) + 1 })
      .expect(200);
    await app.http.post('/ops/rebilling/run').set(OPERATOR).expect(200);
    await delivered(id);
    const rebillId = (await sub(id)).attempts[0]?.externalPaymentId;

    // a partial refund of the initial purchase, made in Cleverbridge; its notification delivered twice
    await app.http.post('/sandbox/faults/cleverbridge').send({ duplicateWebhookRate: 1 }).expect(200);
    try {
      await app.http
        .post(`/sandbox/cleverbridge/purchases/${purchaseId}/refund`)
        .send({ amount: 300 })
        .expect(200);
      await settle();
    } finally {
      await app.http.post('/sandbox/faults/cleverbridge').send({ duplicateWebhookRate: 0 }).expect(200);
    }
    await app.http.post(`/sandbox/cleverbridge/purchases/${rebillId}/chargeback`).expect(200);
    const rows = await delivered(id);
    const refunds = rows.filter((m) => m.payload.method === 'PATCH');
    expect(refunds.map((m) => [m.kind, m.payload.body])).toEqual([
      [
        'cleeng.payment.refund',
        {
          status: 'refunded',
          paymentOperation: 'initial-payment',
          refundedReason: expect.any(String),
          refundedAmount: 3,
          refundType: 'refund',
        },
      ],
      [
        'cleeng.payment.refund',
        {
          status: 'refunded',
          paymentOperation: 'recurring-payment',
          refundedReason: expect.any(String),
          refundedAmount: 9.99,
          refundType: 'chargeback',
        },
      ],
    ]);
    const state = await cleeng();
    expect(state.payments.find((p) => p.externalPaymentId === purchaseId)).toMatchObject({
      status: 'refunded',
      refundedAmount: 3,
      refundType: 'refund',
    });
    expect(state.payments.find((p) => p.externalPaymentId === rebillId)).toMatchObject({
      status: 'refunded',
      refundedAmount: 9.99,
      refundType: 'chargeback',
    });
  });

  it('a subscription already running at Cleverbridge: its first captured rebill creates the Cleeng subscription', async () => {
    const customerId = newCustomerId();
    seq += 1;
    const first = await app.http
      .post('/v1/purchases')
      .set(API)
      .set('Idempotency-Key', randomUUID())
      .send({
        customer: { customerReferenceId: `em-run-${seq}` },
        items: [{ productId: '100001', quantity: 1 }],
      });
    const externalSubscriptionId = (first.body as { subscriptionId: string }).subscriptionId;
    const created = await app.http
      .post('/v1/subscriptions')
      .set(API)
      .send({
        customerId,
        gateway: 'cleverbridge',
        externalSubscriptionId,
        offerId: OFFER,
        productId: '100001',
        amount: { value: 999, currency: 'USD' },
        interval: 'P1M',
        nextBillingAt: new Date((await clockNow()).getTime() - 60_000).toISOString(),
      });
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    // declined first (reported rejected, creates nothing), then paid by Cleverbridge's own retry
    await app.http
      .post(`/sandbox/cleverbridge/subscriptions/${externalSubscriptionId}/behaviour`)
      .send({ behaveAs: 'decline:PAY_CLE', times: 1 })
      .expect(200);
    await app.http.post('/ops/rebilling/run').set(OPERATOR).expect(200);
    await app.http.post('/sandbox/clock/advance').send({ days: 1, minutes: 1 }).expect(200);
    await app.http.post('/ops/rebilling/run').set(OPERATOR).expect(200);
    const rows = await delivered(id);
    expect(rows.map((m) => [m.kind, m.payload.body?.status, m.payload.body?.subscriptionId])).toEqual([
      ['cleeng.ems-payment.create', 'rejected', undefined],
      ['cleeng.ems-payment.create', 'captured', undefined],
      ['cleeng.subscription.link', undefined, undefined],
    ]);
    const linked = await sub(id);
    const mine = (await cleeng()).subscriptions.filter((s) => s.customerId === Number(customerId));
    expect(mine).toHaveLength(1);
    expect(linked.cleengSubscriptionId).toBe(String(mine[0]?.subscriptionId));
  });
});
