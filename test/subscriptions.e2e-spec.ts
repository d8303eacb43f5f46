import { randomUUID } from 'node:crypto';
import { existingCleengSubscription, FAST_INBOX, OPERATOR } from './support/flows';
import { API_KEY, eventually, startTestApp, TestApp } from './support/test-app';

/**
 * `/v1/subscriptions`: connector-managed subscriptions. Validation, the link to the Cleverbridge subscription
 * through the first purchase's PaidOrderNotification, reports to Cleeng, and a year of monthly rebills on the
 * sandbox test clock.
 */
const API = { 'X-Api-Key': API_KEY };

interface Attempt {
  periodIndex: number;
  periodStart: string;
  status: string;
  tryNumber: number;
  decline?: { code: string };
}

interface Subscription {
  id: string;
  status: string;
  externalSubscriptionId?: string;
  nextBillingAt: string;
  nextAttemptAt?: string;
  checkoutUrl?: string;
  attempts: Attempt[];
}

interface LedgerPurchase {
  status: string;
  rebill: boolean;
  period?: string;
  paymentResult?: { code: string };
}

let app: TestApp;
let seq = 0;

function newRef(): string {
  seq += 1;
  return `sub-${Date.now()}-${seq}`;
}

async function clockNow(): Promise<Date> {
  return new Date(((await app.http.get('/sandbox/clock')).body as { now: string }).now);
}

async function settle(): Promise<void> {
  for (let round = 0; round < 3; round += 1) {
    await app.http.get('/sandbox/cleverbridge/webhooks/idle').query({ timeoutMs: 5000 });
    await app.http.post('/ops/inbox/process').set(OPERATOR);
    await app.http.post('/ops/outbox/dispatch').set(OPERATOR);
  }
}

async function advanceTo(at: Date): Promise<void> {
  const minutes = Math.ceil((at.getTime() - (await clockNow()).getTime()) / 60_000);
  if (minutes > 0) {
    const res = await app.http.post('/sandbox/clock/advance').send({ minutes });
    expect(res.status).toBe(200);
  }
  await settle();
}

function purchase(body: Record<string, unknown>) {
  return app.http.post('/v1/purchases').set(API).set('Idempotency-Key', randomUUID()).send(body);
}

async function cleverbridgeSubscription(customerRef: string): Promise<string> {
  const res = await purchase({
    customer: { customerReferenceId: customerRef },
    items: [{ productId: '100001', quantity: 1 }],
  });
  expect(res.status).toBe(201);
  return (res.body as { subscriptionId: string }).subscriptionId;
}

function create(body: Record<string, unknown>, headers: Record<string, string> = API) {
  return app.http.post('/v1/subscriptions').set(headers).send(body);
}

async function sub(id: string): Promise<Subscription> {
  const res = await app.http.get(`/v1/subscriptions/${id}`).set(API);
  expect(res.status).toBe(200);
  return res.body as Subscription;
}

async function rebills(externalId: string): Promise<LedgerPurchase[]> {
  const res = await app.http.get('/sandbox/cleverbridge/ledger').query({ subscriptionId: externalId });
  return (res.body as { purchases: LedgerPurchase[] }).purchases.filter((p) => p.rebill);
}

async function behave(externalId: string, behaveAs: string, times: number): Promise<void> {
  await app.http
    .post(`/sandbox/cleverbridge/subscriptions/${externalId}/behaviour`)
    .send({ behaveAs, times })
    .expect(200);
}

const valid = (): Record<string, unknown> => ({
  customerId: newRef(),
  gateway: 'cleverbridge',
  externalSubscriptionId: `S-none-${randomUUID()}`,
  productId: '100001',
  amount: { value: 999, currency: 'USD' },
  interval: 'P1M',
  nextBillingAt: '2030-01-31T12:00:00.000Z',
});

beforeAll(async () => {
  app = await startTestApp({ ...FAST_INBOX, REBILL_CRON: 'off' });
});

afterAll(async () => {
  await app?.close();
});

describe('POST /v1/subscriptions validation', () => {
  it('x-parameter keys must start with x-: 400 with field-level details', async () => {
    const res = await create({
      ...valid(),
      extraParameters: { 'x-ok': '1', customerid: '51254', 'vendor-id': '7' },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
    expect(res.body.details).toEqual([
      {
        field: 'extraParameters',
        messages: [expect.stringMatching(/keys must start with "x-".*"customerid", "vendor-id"/)],
      },
    ]);
    const ok = await create({
      ...valid(),
      extraParameters: { 'x-customerid': '51254', 'x-vendors-subscription-id': '544920' },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.extraParameters).toEqual({
      'x-customerid': '51254',
      'x-vendors-subscription-id': '544920',
    });
  });

  it.each([
    [{ interval: 'P1H' }, 'interval'],
    [{ interval: 'PT1H' }, 'interval'],
    [{ interval: '1M' }, 'interval'],
    [{ interval: 'P0D' }, 'interval'],
    [{ nextBillingAt: 'tomorrow' }, 'nextBillingAt'],
    [{ amount: { value: 9.99, currency: 'USD' } }, 'amount.value'],
    [{ amount: { value: 999, currency: 'usd' } }, 'amount.currency'],
    [{ amount: undefined }, 'amount'],
    [{ amount: { value: 0, currency: 'USD' } }, 'amount.value'],
    [{ quantity: 3, amount: { value: 1000, currency: 'USD' } }, 'amount.value'],
    [{ productId: undefined }, 'productId'],
    [{ gateway: 'paypal' }, 'gateway'],
    [{ cleengSubscriptionId: '912345678' }, 'offerId'],
    [{ cleengSubscriptionId: '912345678', offerId: 'S100000001_US' }, 'customerId'],
    [{ extraParameters: { 'x-connector-period': '2030-01' } }, 'extraParameters'],
    [{ surprise: true }, 'surprise'],
  ])('refuses %j (%s)', async (change, field) => {
    const res = await create({ ...valid(), ...change });
    expect(res.status).toBe(400);
    expect((res.body.details as { field: string }[]).map((d) => d.field)).toContain(field);
  });

  it('refuses a card gateway without stored payment details, a second subscription on one Cleverbridge subscription, and callers without an API key', async () => {
    // Adyen rebills connector-managed subscriptions now, but only with a stored card to charge
    const adyen = await create({ ...valid(), gateway: 'adyen' });
    expect(adyen.status).toBe(400);
    expect(adyen.body.code).toBe('VALIDATION_FAILED');
    expect((adyen.body.details as { field: string }[]).map((d) => d.field)).toEqual(['paymentDetailsId']);

    const body = valid();
    expect((await create(body)).status).toBe(201);
    const twice = await create({ ...body, customerId: newRef() });
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('SUBSCRIPTION_ALREADY_EXISTS');

    expect((await create(valid(), {})).status).toBe(401);
    const token = await app.http.post('/sandbox/auth/token').send({ customerId: '927751142' });
    const asCustomer = await create(valid(), {
      Authorization: `Bearer ${(token.body as { token: string }).token}`,
    });
    expect(asCustomer.status).toBe(403);
  });

  it('honours Idempotency-Key', async () => {
    const key = randomUUID();
    const body = valid();
    const first = await create(body, { ...API, 'Idempotency-Key': key });
    const second = await create(body, { ...API, 'Idempotency-Key': key });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
  });
});

describe('the link to the Cleverbridge subscription', () => {
  it('pending until the first purchase names it (x-connector-subscription), then rebilled', async () => {
    const customerRef = newRef();
    const nextBillingAt = new Date((await clockNow()).getTime() + 86_400_000).toISOString();
    const created = await create({
      ...valid(),
      customerId: customerRef,
      externalSubscriptionId: undefined,
      nextBillingAt,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'pending' });
    expect(created.body.nextAttemptAt).toBeUndefined();
    const id = (created.body as { id: string }).id;

    const bought = await purchase({
      customer: { customerReferenceId: customerRef },
      items: [{ productId: '100001', quantity: 1 }],
      extraParameters: { 'x-connector-subscription': id },
    });
    expect(bought.body).toMatchObject({ status: 'captured', subscriptionId: expect.stringMatching(/^S/) });
    const linked = await sub(id);
    expect(linked).toMatchObject({
      status: 'active',
      externalSubscriptionId: (bought.body as { subscriptionId: string }).subscriptionId,
      nextAttemptAt: nextBillingAt,
    });
  });

  it('free-to-paid: the PaidOrderNotification of the checkout the customer completed links it', async () => {
    const customerRef = newRef();
    const nextBillingAt = new Date((await clockNow()).getTime() - 60_000).toISOString();
    const created = await create({
      ...valid(),
      customerId: customerRef,
      externalSubscriptionId: undefined,
      nextBillingAt,
    });
    const id = (created.body as { id: string }).id;
    const checkout = await purchase({
      customer: { customerReferenceId: customerRef },
      items: [{ productId: '100001', quantity: 1 }],
      extraParameters: { 'x-connector-subscription': id, 'x-sandbox-behaviour': 'action-needed' },
    });
    expect(checkout.body).toMatchObject({ status: 'action_required', checkoutUrl: expect.any(String) });
    await app.http.post('/ops/rebilling/run').set(OPERATOR).expect(200);
    expect((await sub(id)).status).toBe('pending'); // nothing to rebill yet

    await app.http
      .post(`${new URL((checkout.body as { checkoutUrl: string }).checkoutUrl).pathname}/pay`)
      .expect(200);
    await settle();
    const linked = await sub(id);
    expect(linked.status).toBe('active');
    expect(linked.externalSubscriptionId).toMatch(/^S/);
    await app.http.post('/ops/rebilling/run').set(OPERATOR).expect(200);
    await settle();
    expect((await sub(id)).attempts[0]).toMatchObject({ status: 'captured', periodIndex: 0 });
  });
});

describe('reports to Cleeng', () => {
  it('each charge of a subscription linked to Cleeng goes to the outbox as an externally managed payment', async () => {
    const customerRef = newRef();
    const externalId = await cleverbridgeSubscription(customerRef);
    const customerId = String(800_000_000 + Math.floor(Math.random() * 99_999_999));
    const cleengSubscription = await existingCleengSubscription(app, {
      customerId,
      offerId: 'S100000001_US',
      paymentMethodId: 104,
      netAmount: 9.99,
      currency: 'USD',
    });
    const created = await create({
      ...valid(),
      customerId,
      externalSubscriptionId: externalId,
      cleengSubscriptionId: cleengSubscription,
      offerId: 'S100000001_US',
      nextBillingAt: new Date((await clockNow()).getTime() - 60_000).toISOString(),
    });
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    await behave(externalId, 'decline:PAY_CLE', 1);
    await app.http.post('/ops/rebilling/run').set(OPERATOR).expect(200);
    await advanceTo(new Date((await clockNow()).getTime() + 86_400_000 + 60_000));
    const charged = await sub(id);
    expect(charged.attempts[0]).toMatchObject({ status: 'captured', tryNumber: 2 });

    const outbox = (await app.http.get('/ops/outbox').set(OPERATOR)).body as {
      kind: string;
      aggregateId: string;
      status: string;
      lastError: string | null;
      payload: { method: string; path: string; body: Record<string, unknown> };
    }[];
    const reports = outbox.filter((m) => m.aggregateId === id).reverse();
    expect(reports.map((m) => [m.kind, m.payload.method, m.payload.path, m.payload.body.status])).toEqual([
      ['cleeng.ems-payment.create', 'POST', '/payments', 'rejected'],
      ['cleeng.ems-payment.create', 'POST', '/payments', 'captured'],
    ]);
    const ledger = await rebills(externalId);
    expect(reports[1]?.payload.body).toEqual({
      customerId: Number(customerId),
      status: 'captured',
      offerId: 'S100000001_US',
      paymentMethodId: 104,
      netAmount: 9.99,
      taxAmount: 0,
      currency: 'USD',
      externalPaymentId: (charged.attempts[0] as Attempt & { externalPaymentId: string }).externalPaymentId,
      subscriptionId: cleengSubscription,
    });
    expect(reports[0]?.payload.body).toMatchObject({
      status: 'rejected',
      rejectedReason: 'PAY_CLE: Card limit exceeded',
    });
    expect(ledger).toHaveLength(2);
    // both reports are delivered to Cleeng (EMS variant of POST /payments)
    const delivered = await eventually(async () => {
      await app.http.post('/ops/outbox/dispatch').set(OPERATOR);
      const rows = (
        (await app.http.get('/ops/outbox').set(OPERATOR)).body as { aggregateId: string; status: string }[]
      ).filter((m) => m.aggregateId === id);
      return rows.every((m) => m.status === 'delivered') ? rows : undefined;
    });
    expect(delivered).toHaveLength(2);
    const cleeng = (await app.http.get('/sandbox/cleeng/state')).body as {
      payments: { externalPaymentId: string | null; status: string; subscriptionId: number | null }[];
    };
    const mine = cleeng.payments.filter(
      (p) => p.subscriptionId === cleengSubscription && !p.externalPaymentId?.startsWith('earlier-'),
    );
    expect(mine.map((p) => p.status).sort()).toEqual(['captured', 'rejected']);
  });
});

describe('a year of monthly rebills on the test clock', () => {
  /** anchor + n months, clamped to the month's last day (independent of the connector's own arithmetic) */
  function monthsAfter(anchor: Date, n: number): string {
    const y = anchor.getUTCFullYear();
    const m = anchor.getUTCMonth() + n;
    const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
    return new Date(Date.UTC(y, m, Math.min(anchor.getUTCDate(), last), 12)).toISOString();
  }

  it('charges every month end once; a soft decline recovers, a hard decline stops the other subscription', async () => {
    const now = await clockNow();
    // the next 31st at noon, at least a day away: month ends exercise the clamping
    let anchor = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 31, 12));
    while (anchor.getUTCDate() !== 31 || anchor.getTime() < now.getTime() + 86_400_000) {
      anchor = new Date(Date.UTC(anchor.getUTCFullYear(), anchor.getUTCMonth() + 1, 31, 12));
    }
    const make = async (): Promise<{ id: string; externalId: string }> => {
      const customerRef = newRef();
      const externalId = await cleverbridgeSubscription(customerRef);
      const res = await create({
        ...valid(),
        customerId: customerRef,
        externalSubscriptionId: externalId,
        nextBillingAt: anchor.toISOString(),
      });
      expect(res.status).toBe(201);
      return { id: (res.body as { id: string }).id, externalId };
    };
    const recovering = await make();
    const stopping = await make();

    for (let month = 0; month < 12; month += 1) {
      if (month === 3) {
        await behave(recovering.externalId, 'decline:PAY_CLE', 1);
      }
      if (month === 7) {
        await behave(stopping.externalId, 'decline:PAY_REJ', 1);
      }
      await advanceTo(new Date(new Date(monthsAfter(anchor, month)).getTime() + 3_600_000));
      if (month === 3) {
        expect((await sub(recovering.id)).status).toBe('past_due');
        await advanceTo(new Date((await clockNow()).getTime() + 86_400_000 + 60_000));
        expect((await sub(recovering.id)).status).toBe('active');
      }
      if (month === 7) {
        expect((await sub(stopping.id)).status).toBe('action_required');
      }
    }

    const a = await sub(recovering.id);
    expect(a.status).toBe('active');
    expect(a.attempts).toHaveLength(12);
    const periods = [...a.attempts].reverse();
    expect(periods.map((p) => p.periodStart)).toEqual(
      Array.from({ length: 12 }, (_, n) => monthsAfter(anchor, n)),
    );
    expect(periods.every((p) => p.status === 'captured')).toBe(true);
    expect(periods.map((p) => p.tryNumber)).toEqual([1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(a.nextBillingAt).toBe(monthsAfter(anchor, 12));
    const aCharges = await rebills(recovering.externalId);
    expect(aCharges.filter((p) => p.status === 'Paid')).toHaveLength(12);
    expect(aCharges.filter((p) => p.status === 'Declined').map((p) => p.paymentResult?.code)).toEqual([
      'PAY_CLE',
    ]);
    // each period charged once: one Paid purchase per period
    expect(new Set(aCharges.filter((p) => p.status === 'Paid').map((p) => p.period)).size).toBe(12);

    const b = await sub(stopping.id);
    expect(b).toMatchObject({ status: 'action_required', checkoutUrl: expect.any(String) });
    expect(b.attempts).toHaveLength(8);
    expect(b.attempts[0]).toMatchObject({
      periodIndex: 7,
      status: 'action_required',
      decline: { code: 'PAY_REJ' },
    });
    const bCharges = await rebills(stopping.externalId);
    expect(bCharges.map((p) => p.status)).toEqual([...Array<string>(7).fill('Paid'), 'Declined']);
  });
});
