import { randomUUID } from 'node:crypto';
import { API_KEY, eventually, TestApp } from './test-app';
import { SANDBOX_SECRETS } from '../../sandbox/sandbox-settings';

export const CARDS = {
  approve: '4111111111111111',
  declined: '4000000000000002',
  limit: '4000000000009995',
  expired: '4000000000000069',
  cvc: '4000000000000127',
  fraud: '4100000000000019',
  threeDS: '4000000000003220',
} as const;

export const OFFERS = {
  monthlyUsd: 'S100000001_US',
  freeTrialUsd: 'S100000002_US',
  jpy: 'S100000003_JP',
} as const;

let customerSeq = Math.floor(Math.random() * 1_000_000);
export function newCustomerId(): string {
  customerSeq += 1;
  return String(900_000_000 + customerSeq);
}

export function card(number: string): Record<string, string> {
  return {
    type: 'scheme',
    number,
    expiryMonth: '03',
    expiryYear: '2030',
    cvc: '737',
    holderName: 'Matthew Brown',
  };
}

export async function createOrder(
  app: TestApp,
  opts: {
    customerId?: string;
    offerId?: string;
    currency?: string;
    country?: string;
    couponCode?: string;
  } = {},
): Promise<{
  id: string;
  cleengOrderId: string;
  customerId: string;
  amount: { value: number; currency: string };
}> {
  const res = await app.http
    .post('/v1/orders')
    .set('X-Api-Key', API_KEY)
    .send({
      customerId: opts.customerId ?? newCustomerId(),
      offerId: opts.offerId ?? OFFERS.monthlyUsd,
      currency: opts.currency ?? 'USD',
      country: opts.country ?? 'US',
      gateway: 'adyen',
      ...(opts.couponCode ? { couponCode: opts.couponCode } : {}),
    });
  if (res.status !== 201) {
    throw new Error(`order creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return res.body as {
    id: string;
    cleengOrderId: string;
    customerId: string;
    amount: { value: number; currency: string };
  };
}

export function pay(
  app: TestApp,
  orderId: string,
  number: string = CARDS.approve,
  key: string = randomUUID(),
) {
  return app.http
    .post('/v1/payments')
    .set('X-Api-Key', API_KEY)
    .set('Idempotency-Key', key)
    .send({ orderId, paymentMethod: card(number) });
}

interface CleengState {
  orders: { id: number; totalPrice: number }[];
  payments: {
    id: number;
    orderId: number;
    status: string;
    paymentOperation: string;
    externalPaymentId?: string | null;
    rejectedReason?: string | null;
    paymentDetailsId?: number | null;
  }[];
  paymentDetails: { id: number; token: string; paymentMethodSpecificParams?: Record<string, string> }[];
  subscriptions: unknown[];
}

export async function cleengState(app: TestApp): Promise<CleengState> {
  const res = await app.http.get('/sandbox/cleeng/state');
  return res.body as CleengState;
}

export async function cleengPaymentsForOrder(
  app: TestApp,
  cleengOrderId: string,
): Promise<CleengState['payments']> {
  const state = await cleengState(app);
  return state.payments.filter((p) => String(p.orderId) === cleengOrderId);
}

export async function adyenLedger(app: TestApp, merchantReference: string) {
  const res = await app.http.get('/sandbox/adyen/ledger').query({ merchantReference });
  return res.body as {
    payments: {
      pspReference: string;
      status: string;
      amount: { value: number; currency: string };
      capturedValue: number;
    }[];
    requests: number;
  };
}

export const OPERATOR = { 'X-Operator-Key': 'sandbox-operator' };

/** Purchases an offer with the approve card and waits until Cleeng knows the payment and the subscription. */
export async function purchase(
  app: TestApp,
  opts: { offerId?: string; customerId?: string; number?: string } = {},
) {
  const order = await createOrder(app, {
    ...(opts.offerId ? { offerId: opts.offerId } : {}),
    ...(opts.customerId ? { customerId: opts.customerId } : {}),
  });
  const paid = await pay(app, order.id, opts.number ?? CARDS.approve);
  if (paid.body.status !== 'captured') {
    throw new Error(`purchase not captured: ${JSON.stringify(paid.body)}`);
  }
  const cleengPayment = await eventually(
    async () => (await cleengPaymentsForOrder(app, order.cleengOrderId))[0],
  );
  const state = await cleengState(app);
  const subscription = (
    state.subscriptions as {
      subscriptionId: number;
      customerId: number;
      offerId: string;
      status: string;
      paymentDetailsId: number;
    }[]
  ).find(
    (s) => String(s.customerId) === order.customerId && s.offerId === (opts.offerId ?? OFFERS.monthlyUsd),
  );
  if (!subscription) {
    throw new Error('no Cleeng subscription after purchase');
  }
  return {
    order,
    payment: paid.body as { id: string; externalPaymentId: string },
    cleengPayment,
    subscription,
  };
}

export async function sendCleengWebhook(
  app: TestApp,
  topic: string,
  data: Record<string, unknown>,
  signature: 'valid' | 'invalid' | 'missing' = 'valid',
) {
  const res = await app.http.post('/sandbox/cleeng/webhooks/send').send({ topic, data, signature });
  return res.body as { status: number; body: unknown };
}

/** Waits until every webhook the emulators sent was delivered and the connector processed and reported it. */
export async function settle(app: TestApp): Promise<void> {
  for (let round = 0; round < 3; round += 1) {
    await app.http.get('/sandbox/cleeng/webhooks/idle').query({ timeoutMs: 5000 });
    await app.http.get('/sandbox/adyen/webhooks/idle').query({ timeoutMs: 5000 });
    await app.http.post('/ops/inbox/process').set(OPERATOR);
    await app.http.post('/ops/outbox/dispatch').set(OPERATOR);
  }
}

export async function advanceClock(app: TestApp, days: number): Promise<void> {
  const res = await app.http.post('/sandbox/clock/advance').send({ days });
  if (res.status !== 200 && res.status !== 201) {
    throw new Error(`clock advance failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
  await settle(app);
}

export async function inboxEvents(app: TestApp, source: string) {
  const res = await app.http.get('/ops/inbox').query({ source }).set(OPERATOR);
  return res.body as {
    id: string;
    eventType: string;
    status: string;
    attempts: number;
    lastError: string | null;
    payload: { data?: Record<string, unknown> };
  }[];
}

/** Fast inbox polling and backoff so webhook tests settle quickly. */
export const FAST_INBOX = {
  INBOX_POLL_INTERVAL_MS: '100',
  INBOX_BACKOFF_BASE_MS: '100',
  INBOX_BACKOFF_MAX_MS: '1000',
};

/** The data of a renewal webhook for a purchased subscription, as the Cleeng sandbox would send it. */
export async function renewalData(
  app: TestApp,
  bought: { subscription: { subscriptionId: number }; order: { customerId: string } },
  dunningAttemptDate: string = `manual-${randomUUID()}`,
): Promise<Record<string, unknown>> {
  const sub = (
    (await cleengState(app)).subscriptions as {
      subscriptionId: number;
      paymentDetailsId: number;
      offerId: string;
    }[]
  ).find((s) => s.subscriptionId === bought.subscription.subscriptionId);
  return {
    subscriptionId: String(bought.subscription.subscriptionId),
    offerId: sub?.offerId,
    customerId: Number(bought.order.customerId),
    paymentDetailsId: sub?.paymentDetailsId,
    currency: 'USD',
    paymentCountry: 'US',
    paymentMethodId: 101,
    dunningAttemptDate,
  };
}

/**
 * An externally managed Cleeng subscription that already exists (as one made by an earlier payment elsewhere):
 * an externally managed `POST /3.1/payments` straight to the sandbox Cleeng, found through its state.
 */
export async function existingCleengSubscription(
  app: TestApp,
  input: {
    customerId: string;
    offerId: string;
    paymentMethodId: number;
    netAmount: number;
    currency: string;
  },
): Promise<number> {
  const externalPaymentId = `earlier-${randomUUID()}`;
  const res = await app.http
    .post('/sandbox/cleeng/3.1/payments')
    .set('X-Publisher-Token', SANDBOX_SECRETS.cleengPublisherToken)
    .send({
      ...input,
      customerId: Number(input.customerId),
      status: 'captured',
      taxAmount: 0,
      externalPaymentId,
    });
  if (res.status !== 200) {
    throw new Error(`sandbox Cleeng refused the payment: ${res.status} ${JSON.stringify(res.body)}`);
  }
  const state = (await app.http.get('/sandbox/cleeng/state')).body as {
    subscriptions: { subscriptionId: number; latestPaymentExternalId: string | null }[];
  };
  const found = state.subscriptions.find((s) => s.latestPaymentExternalId === externalPaymentId);
  if (!found) {
    throw new Error('the sandbox Cleeng created no subscription');
  }
  return found.subscriptionId;
}

/**
 * A connector-managed subscription on a fresh Cleverbridge subscription (bought through POST /v1/purchases), due
 * `minutesAgo` on the sandbox clock.
 */
export async function dueCleverbridgeSubscription(
  app: TestApp,
  minutesAgo: number,
): Promise<{ id: string; externalId: string }> {
  const customerRef = `due-${randomUUID()}`;
  const purchase = await app.http
    .post('/v1/purchases')
    .set('X-Api-Key', API_KEY)
    .set('Idempotency-Key', randomUUID())
    .send({ customer: { customerReferenceId: customerRef }, items: [{ productId: '100001', quantity: 1 }] });
  expect(purchase.status).toBe(201);
  const externalId = (purchase.body as { subscriptionId: string }).subscriptionId;
  const now = new Date(((await app.http.get('/sandbox/clock')).body as { now: string }).now);
  const res = await app.http
    .post('/v1/subscriptions')
    .set('X-Api-Key', API_KEY)
    .send({
      customerId: customerRef,
      gateway: 'cleverbridge',
      externalSubscriptionId: externalId,
      productId: '100001',
      amount: { value: 999, currency: 'USD' },
      interval: 'P1M',
      nextBillingAt: new Date(now.getTime() - minutesAgo * 60_000).toISOString(),
    });
  expect(res.status).toBe(201);
  return { id: (res.body as { id: string }).id, externalId };
}

const CLEVERBRIDGE_AUTH = `Basic ${Buffer.from(`${SANDBOX_SECRETS.cleverbridgeUsername}:${SANDBOX_SECRETS.cleverbridgePassword}`).toString('base64')}`;

/**
 * A Cleverbridge subscription made straight on the emulator of `host` (a NonInteractive ProcessCart, no connector
 * involved); its subscription id. Over the emulator's requests-per-second limit (refused before processing, as
 * Cleverbridge does) it waits and sends again (a 16-wide seeding once ran faster than 150/s in CI).
 */
export async function seedCleverbridgeSubscription(
  host: TestApp,
  customerReferenceId: string,
): Promise<string> {
  const send = () =>
    host.http
      .post('/sandbox/cleverbridge/cart/processcart')
      .set('Authorization', CLEVERBRIDGE_AUTH)
      .send({
        processCartRequest: {
          cart: { items: [{ productId: '100001', quantity: 1 }], customerReferenceId },
          processCartMode: 'NonInteractive',
        },
      });
  let res = await send();
  while (res.status === 429) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    res = await send();
  }
  const subscriptionId = (res.body as { subscriptionId?: string }).subscriptionId;
  if (res.status !== 200 || !subscriptionId) {
    throw new Error(`seeding failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return subscriptionId;
}
