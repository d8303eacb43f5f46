import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { RebillFaultPoints } from '../src/rebilling/rebill-fault-points';
import { RebillingService, RebillRunSummary } from '../src/rebilling/rebilling.service';
import { FAST_INBOX, OPERATOR } from './support/flows';
import { API_KEY, eventually, startTestApp, TestApp } from './support/test-app';

/**
 * Connector-managed rebilling through Cleverbridge ProcessCart: every ProcessCart outcome of a rebill, dunning,
 * IsPaymentRetryScheduled, unknown outcomes, a crash between the gateway call and the database write, and the
 * claim itself. The cron tick is off: passes run on `POST /ops/rebilling/run` and on test-clock advances.
 */
const API = { 'X-Api-Key': API_KEY };
const MONTHLY = 999;

interface Attempt {
  id: string;
  periodIndex: number;
  periodStart: string;
  status: string;
  tryNumber: number;
  idempotencyKey: string;
  externalPaymentId?: string;
  decline?: { code: string; class: string };
  retryScheduled: boolean;
  refunded: { value: number };
  tries: { try: number; key: string; outcome: string }[];
  adjustments: { type: string; id: string; amountMinor: number }[];
}

interface Subscription {
  id: string;
  status: string;
  externalSubscriptionId?: string;
  nextBillingAt: string;
  nextAttemptAt?: string;
  dunning?: { step: number; lastDecline?: { code: string } };
  checkoutUrl?: string;
  checkoutExpiresAt?: string;
  lastError?: string;
  cancelReason?: string;
  attempts: Attempt[];
}

interface LedgerPurchase {
  purchaseId: string;
  languageId?: string;
  status: string;
  rebill: boolean;
  attempt?: string;
  period?: string;
  total: { value: number; currency: string };
  paymentResult?: { code: string };
}

let app: TestApp;
let seq = 0;

async function clockNow(): Promise<Date> {
  return new Date(((await app.http.get('/sandbox/clock')).body as { now: string }).now);
}

/** Every Cleverbridge notification delivered and processed, every Cleeng report attempted. */
async function settle(): Promise<void> {
  for (let round = 0; round < 3; round += 1) {
    await app.http.get('/sandbox/cleverbridge/webhooks/idle').query({ timeoutMs: 5000 });
    await app.http.post('/ops/inbox/process').set(OPERATOR);
    await app.http.post('/ops/outbox/dispatch').set(OPERATOR);
  }
}

async function advance(by: { days?: number; hours?: number; minutes?: number }): Promise<void> {
  const res = await app.http.post('/sandbox/clock/advance').send(by);
  expect(res.status).toBe(200);
  expect((res.body as { listeners: { name: string; ok: boolean }[] }).listeners).toContainEqual(
    expect.objectContaining({ name: 'connector-rebilling', ok: true }),
  );
  await settle();
}

async function runNow(): Promise<RebillRunSummary> {
  const res = await app.http.post('/ops/rebilling/run').set(OPERATOR);
  expect(res.status).toBe(200);
  await settle();
  return res.body as RebillRunSummary;
}

/** A Cleverbridge "Handled by Client" subscription, created by a first purchase of the monthly product. */
async function cleverbridgeSubscription(): Promise<{ customerRef: string; externalId: string }> {
  seq += 1;
  const customerRef = `rb-${Date.now()}-${seq}`;
  const res = await app.http
    .post('/v1/purchases')
    .set(API)
    .set('Idempotency-Key', randomUUID())
    .send({ customer: { customerReferenceId: customerRef }, items: [{ productId: '100001', quantity: 1 }] });
  expect(res.status).toBe(201);
  const externalId = (res.body as { subscriptionId?: string }).subscriptionId;
  if (!externalId) {
    throw new Error(`no subscription from ${JSON.stringify(res.body)}`);
  }
  return { customerRef, externalId };
}

/** Our subscription on a fresh Cleverbridge subscription, due a minute ago. */
async function dueSubscription(
  extra: Record<string, unknown> = {},
): Promise<{ id: string; externalId: string; customerRef: string }> {
  const cb = await cleverbridgeSubscription();
  const nextBillingAt = new Date((await clockNow()).getTime() - 60_000).toISOString();
  const res = await app.http
    .post('/v1/subscriptions')
    .set(API)
    .send({
      customerId: cb.customerRef,
      gateway: 'cleverbridge',
      externalSubscriptionId: cb.externalId,
      productId: '100001',
      amount: { value: MONTHLY, currency: 'USD' },
      interval: 'P1M',
      nextBillingAt,
      extraParameters: { 'x-plan': 'pro' },
      ...extra,
    });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ status: 'active', nextBillingAt });
  return { id: (res.body as { id: string }).id, ...cb };
}

async function sub(id: string): Promise<Subscription> {
  const res = await app.http.get(`/v1/subscriptions/${id}`).set(API);
  expect(res.status).toBe(200);
  return res.body as Subscription;
}

async function behave(externalId: string, behaveAs: string | null, times?: number): Promise<void> {
  await app.http
    .post(`/sandbox/cleverbridge/subscriptions/${externalId}/behaviour`)
    .send({ behaveAs, ...(times ? { times } : {}) })
    .expect(200);
}

/** The rebills Cleverbridge has for the subscription (its first purchase excluded). */
async function rebills(externalId: string): Promise<LedgerPurchase[]> {
  const res = await app.http.get('/sandbox/cleverbridge/ledger').query({ subscriptionId: externalId });
  return (res.body as { purchases: LedgerPurchase[] }).purchases.filter((p) => p.rebill);
}

beforeAll(async () => {
  app = await startTestApp({ ...FAST_INBOX, REBILL_CRON: 'off', REBILL_LEASE: '2m' });
});

afterAll(async () => {
  await app?.close();
});

describe('a rebill through ProcessCart', () => {
  it('Paid: captured once, the period advances by the interval, the notification only confirms it', async () => {
    const s = await dueSubscription();
    const before = await sub(s.id);
    const summary = await runNow();
    if (summary.captured < 1) {
      // which outcome it was instead, and where the subscription stands
      throw new Error(`nothing captured: ${JSON.stringify({ summary, subscription: await sub(s.id) })}`);
    }
    const after = await sub(s.id);
    expect(after.status).toBe('active');
    const [attempt] = after.attempts;
    expect(attempt).toMatchObject({
      periodIndex: 0,
      periodStart: before.nextBillingAt,
      status: 'captured',
      tryNumber: 1,
      idempotencyKey: `${attempt?.id}:1`,
      externalPaymentId: expect.any(String),
    });
    const expectedNext = new Date(before.nextBillingAt);
    expectedNext.setUTCMonth(expectedNext.getUTCMonth() + 1);
    if (expectedNext.getUTCDate() !== new Date(before.nextBillingAt).getUTCDate()) {
      expectedNext.setUTCDate(0); // month end
    }
    expect(after.nextBillingAt).toBe(expectedNext.toISOString());

    const [charged] = await rebills(s.externalId);
    expect(charged).toMatchObject({
      purchaseId: attempt?.externalPaymentId,
      status: 'Paid',
      attempt: attempt?.idempotencyKey,
      period: before.nextBillingAt.slice(0, 10),
      total: { value: MONTHLY, currency: 'USD' },
    });
    // the cart carried the subscription's x-parameters
    const ledger = await app.http.get(`/sandbox/cleverbridge/purchases/${charged?.purchaseId}`);
    expect(ledger.body.extraParameters).toMatchObject({
      'x-plan': 'pro',
      'x-connector-reference': attempt?.id,
    });

    expect((await runNow()).captured).toBe(0); // nothing due any more
    expect(await rebills(s.externalId)).toHaveLength(1);
  });

  it("the cart names the subscription's language, else CLEVERBRIDGE_DEFAULT_LANGUAGE_ID (en)", async () => {
    const german = await dueSubscription({ defaultLanguageId: 'de' });
    const plain = await dueSubscription();
    expect(await sub(german.id)).toMatchObject({ defaultLanguageId: 'de' });
    await runNow();
    expect((await rebills(german.externalId)).map((p) => p.languageId)).toEqual(['de']);
    expect((await rebills(plain.externalId)).map((p) => p.languageId)).toEqual(['en']);
    const bad = await app.http
      .post('/v1/subscriptions')
      .set(API)
      .send({
        customerId: 'c-1',
        gateway: 'cleverbridge',
        externalSubscriptionId: 'S-lang',
        productId: '100001',
        amount: { value: MONTHLY, currency: 'USD' },
        interval: 'P1M',
        nextBillingAt: new Date().toISOString(),
        defaultLanguageId: 'German',
      });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('defaultLanguageId');
  });

  it('WaitingForOfflinePayment: pending until the PaidOrderNotification, then advanced', async () => {
    const s = await dueSubscription();
    await behave(s.externalId, 'offline', 1);
    await runNow();
    const waiting = await sub(s.id);
    expect(waiting.attempts[0]).toMatchObject({ status: 'pending', externalPaymentId: expect.any(String) });
    expect(waiting.status).toBe('active');
    await app.http
      .post(`/sandbox/cleverbridge/purchases/${waiting.attempts[0]?.externalPaymentId}/receive-payment`)
      .expect(200);
    await settle();
    const paid = await sub(s.id);
    expect(paid.attempts[0]?.status).toBe('captured');
    expect(paid.nextBillingAt).not.toBe(waiting.nextBillingAt);
  });

  it('soft decline: past_due, the next try follows DUNNING_SCHEDULE under a new key, and recovers', async () => {
    const s = await dueSubscription();
    await behave(s.externalId, 'decline:PAY_CLE', 1);
    await runNow();
    const declined = await sub(s.id);
    expect(declined).toMatchObject({
      status: 'past_due',
      dunning: { step: 1, lastDecline: { code: 'PAY_CLE' } },
    });
    expect(declined.attempts[0]).toMatchObject({
      status: 'declined',
      tryNumber: 1,
      decline: { class: 'soft' },
    });
    const firstTry = declined.attempts[0]?.tries[0];
    expect(new Date(declined.nextAttemptAt ?? 0).getTime() - (await clockNow()).getTime()).toBeGreaterThan(
      23 * 3_600_000,
    );

    await advance({ hours: 12 });
    expect((await sub(s.id)).attempts[0]?.tryNumber).toBe(1); // not yet
    await advance({ hours: 13 });
    const recovered = await sub(s.id);
    expect(recovered.status).toBe('active');
    expect(recovered.dunning).toBeUndefined();
    expect(recovered.attempts).toHaveLength(1);
    expect(recovered.attempts[0]).toMatchObject({
      status: 'captured',
      tryNumber: 2,
      idempotencyKey: `${recovered.attempts[0]?.id}:2`,
    });
    const charges = await rebills(s.externalId);
    expect(charges.map((p) => [p.status, p.attempt])).toEqual([
      ['Declined', firstTry?.key],
      ['Paid', recovered.attempts[0]?.idempotencyKey],
    ]);
  });

  it.each(['PAY_CEX', 'PAY_REJ', 'FRA_REJ', 'PAY_SCO'])(
    'hard decline %s: stops at action_required with the checkout URL; the customer paying there resumes it',
    async (code) => {
      const s = await dueSubscription();
      await behave(s.externalId, `decline:${code}`, 1);
      await runNow();
      const stopped = await sub(s.id);
      expect(stopped).toMatchObject({
        status: 'action_required',
        checkoutUrl: expect.stringContaining('/sandbox/cleverbridge/checkout/'),
        checkoutExpiresAt: expect.any(String),
      });
      expect(stopped.nextAttemptAt).toBeUndefined();
      expect(stopped.attempts[0]).toMatchObject({
        status: 'action_required',
        decline: { code, class: 'hard' },
      });

      await advance({ days: 10 });
      expect(await rebills(s.externalId)).toHaveLength(1); // no automatic retry

      await app.http.post(`${new URL(stopped.checkoutUrl ?? '').pathname}/pay`).expect(200);
      await settle();
      const resumed = await sub(s.id);
      expect(resumed.status).toBe('active');
      expect(resumed.checkoutUrl).toBeUndefined();
      expect(resumed.attempts[0]?.status).toBe('captured');
      expect(resumed.nextBillingAt).not.toBe(stopped.nextBillingAt);
    },
  );

  it('CustomerActionNeeded (no usable payment data) is a hard stop with the URL', async () => {
    const s = await dueSubscription();
    await behave(s.externalId, 'action-needed', 1);
    await runNow();
    const stopped = await sub(s.id);
    expect(stopped).toMatchObject({ status: 'action_required', checkoutUrl: expect.any(String) });
  });

  it("IsPaymentRetryScheduled: we wait; Cleverbridge's own retry an hour later pays the period (one charge)", async () => {
    const s = await dueSubscription();
    await behave(s.externalId, 'decline:CCA_EXP', 1);
    await runNow();
    const waiting = await sub(s.id);
    expect(waiting.status).toBe('past_due');
    expect(waiting.attempts[0]).toMatchObject({
      status: 'retry_scheduled',
      retryScheduled: true,
      decline: { code: 'CCA_EXP' },
    });
    const graceMs = new Date(waiting.nextAttemptAt ?? 0).getTime() - (await clockNow()).getTime();
    expect(graceMs).toBeGreaterThan(110 * 60_000);
    expect(graceMs).toBeLessThanOrEqual(120 * 60_000);

    await advance({ minutes: 61 }); // Cleverbridge retries (behaviour used up: it pays) and notifies
    const paid = await sub(s.id);
    expect(paid.status).toBe('active');
    expect(paid.attempts[0]).toMatchObject({
      status: 'captured',
      tryNumber: 1,
      externalPaymentId: waiting.attempts[0]?.externalPaymentId,
    });
    await advance({ hours: 3 });
    const charges = await rebills(s.externalId);
    expect(charges).toHaveLength(1);
    expect(charges[0]).toMatchObject({ status: 'Paid' });
  });

  it('IsPaymentRetryScheduled without a notification within the grace period: our dunning takes over', async () => {
    const s = await dueSubscription();
    await behave(s.externalId, 'decline:PAY_CLE:retry', 1);
    await runNow();
    expect((await sub(s.id)).attempts[0]?.status).toBe('retry_scheduled');
    await behave(s.externalId, 'decline:PAY_CLE', 1); // Cleverbridge's retry declines too (no notification)
    await advance({ minutes: 61 });
    expect((await sub(s.id)).attempts[0]?.status).toBe('retry_scheduled');
    await advance({ minutes: 60 }); // grace over
    const dunning = await sub(s.id);
    expect(dunning).toMatchObject({ status: 'past_due', dunning: { step: 1 } });
    expect(dunning.attempts[0]).toMatchObject({ status: 'declined', tryNumber: 1 });
    await advance({ days: 1 });
    const recovered = await sub(s.id);
    expect(recovered.status).toBe('active');
    expect(recovered.attempts[0]).toMatchObject({ status: 'captured', tryNumber: 2 });
    expect((await rebills(s.externalId)).map((p) => p.status)).toEqual(['Declined', 'Paid']);
  });

  it('soft declines to the end of the schedule cancel the subscription', async () => {
    const s = await dueSubscription();
    await behave(s.externalId, 'decline:PAY_DEC');
    await runNow();
    for (const days of [1, 2, 4]) {
      expect((await sub(s.id)).status).toBe('past_due');
      await advance({ days });
    }
    const cancelled = await sub(s.id);
    expect(cancelled).toMatchObject({ status: 'cancelled', cancelReason: 'dunning_exhausted' });
    expect(cancelled.attempts[0]).toMatchObject({ status: 'failed', tryNumber: 4 });
    await behave(s.externalId, null);
    await advance({ days: 40 });
    expect(await rebills(s.externalId)).toHaveLength(4);
  });

  it('400 InvalidRequest suspends the subscription for an operator', async () => {
    const s = await dueSubscription();
    await behave(s.externalId, 'invalid', 1);
    await runNow();
    const suspended = await sub(s.id);
    expect(suspended).toMatchObject({
      status: 'suspended',
      lastError: expect.stringContaining('INVALID_REQUEST'),
    });
    expect(suspended.attempts[0]).toMatchObject({ status: 'failed', decline: { code: 'GW_ERROR' } });
  });

  it('a 500 without a purchase: unknown, never retried in the call; the lookup finds nothing, so it is sent again once', async () => {
    const s = await dueSubscription();
    await behave(s.externalId, 'error', 1); // answered 500, nothing bought
    await runNow();
    const unknown = await sub(s.id);
    expect(unknown.attempts[0]).toMatchObject({ status: 'unknown', tryNumber: 1 });
    expect(unknown.lastError).toContain('500');
    const key = unknown.attempts[0]?.idempotencyKey;
    await advance({ minutes: 2 });
    const paid = await sub(s.id);
    expect(paid.attempts[0]).toMatchObject({ status: 'captured', tryNumber: 1, idempotencyKey: key });
    const requests = (await app.http.get('/sandbox/cleverbridge/requests')).body as {
      attempt?: string;
      status: number;
    }[];
    expect(requests.filter((r) => r.attempt === key).map((r) => r.status)).toEqual([500, 200]);
    expect(await rebills(s.externalId)).toHaveLength(1);
  });

  it('answers lost to timeouts: unknown, then settled by the PaidOrderNotification; never charged twice', async () => {
    const s = await dueSubscription();
    await app.http.post('/sandbox/faults/cleverbridge').send({ hangNext: 3, hangMs: 2_500 }).expect(200);
    try {
      await app.http.post('/ops/rebilling/run').set(OPERATOR).expect(200);
    } finally {
      await app.http.delete('/sandbox/faults/cleverbridge').expect(204);
    }
    await settle();
    const settled = await sub(s.id);
    expect(settled.attempts[0]).toMatchObject({ status: 'captured', tryNumber: 1 });
    await advance({ minutes: 5 });
    expect(await rebills(s.externalId)).toHaveLength(1);
  });

  it('refund and chargeback notifications are recorded on the attempt', async () => {
    const s = await dueSubscription();
    await runNow();
    const purchaseId = (await sub(s.id)).attempts[0]?.externalPaymentId;
    await app.http
      .post(`/sandbox/cleverbridge/purchases/${purchaseId}/refund`)
      .send({ amount: 300 })
      .expect(200);
    await settle();
    expect((await sub(s.id)).attempts[0]).toMatchObject({
      status: 'partially_refunded',
      refunded: { value: 300 },
    });
    await app.http.post(`/sandbox/cleverbridge/purchases/${purchaseId}/chargeback`).expect(200);
    await settle();
    const after = await sub(s.id);
    expect(after.attempts[0]?.status).toBe('charged_back');
    expect(after.attempts[0]?.adjustments.map((a) => [a.type, a.amountMinor])).toEqual([
      ['refund', 300],
      ['chargeback', MONTHLY - 300],
    ]);
  });
});

/** Cleverbridge ProcessCart calls sent under one idempotency key (lookups carry none). */
async function processCartCalls(key: string): Promise<{ attempt?: string; status: number }[]> {
  const requests = (await app.http.get('/sandbox/cleverbridge/requests')).body as {
    path: string;
    attempt?: string;
    status: number;
  }[];
  return requests.filter((r) => r.attempt === key && r.path.endsWith('/cart/processcart'));
}

describe('ProcessCart has no idempotency key: a lost answer is looked up, never sent again', () => {
  it('charged but answered 500, no notification: one purchase for the period, captured by lookup', async () => {
    const s = await dueSubscription();
    await app.http
      .post('/sandbox/faults/cleverbridge')
      .send({ failAfterNext: 1, lostWebhookRate: 1 })
      .expect(200);
    let key = '';
    try {
      await app.http.post('/ops/rebilling/run').set(OPERATOR).expect(200);
      const unknown = await sub(s.id);
      expect(unknown.attempts[0]).toMatchObject({ status: 'unknown', tryNumber: 1 });
      key = unknown.attempts[0]?.idempotencyKey ?? '';
      expect(await rebills(s.externalId)).toHaveLength(1);
      // a restarted pass, then time moves on past the retry backoff: still the one purchase
      await advance({ minutes: 2 });
      await advance({ hours: 3 });
    } finally {
      await app.http.delete('/sandbox/faults/cleverbridge').expect(204);
    }
    const charged = await rebills(s.externalId);
    expect(charged).toHaveLength(1);
    const after = await sub(s.id);
    expect(after.attempts).toHaveLength(1);
    expect(after.attempts[0]).toMatchObject({
      status: 'captured',
      tryNumber: 1,
      idempotencyKey: key,
      externalPaymentId: charged[0]?.purchaseId,
    });
    expect(await processCartCalls(key)).toEqual([expect.objectContaining({ status: 500 })]);
  });

  it('WaitingForOfflinePayment is waited for across several REBILL_RETRY_GRACE periods, never sent again', async () => {
    const s = await dueSubscription();
    await behave(s.externalId, 'offline', 1);
    await runNow();
    const waiting = await sub(s.id);
    expect(waiting.attempts[0]).toMatchObject({ status: 'pending', externalPaymentId: expect.any(String) });
    const key = waiting.attempts[0]?.idempotencyKey ?? '';
    for (let grace = 0; grace < 3; grace += 1) {
      await advance({ hours: 3 }); // REBILL_RETRY_GRACE is 2h
    }
    expect(await rebills(s.externalId)).toHaveLength(1);
    expect(await processCartCalls(key)).toHaveLength(1);
    const still = await sub(s.id);
    expect(still.attempts[0]).toMatchObject({ status: 'pending', idempotencyKey: key });
    expect(still.nextBillingAt).toBe(waiting.nextBillingAt);
    await app.http
      .post(`/sandbox/cleverbridge/purchases/${waiting.attempts[0]?.externalPaymentId}/receive-payment`)
      .expect(200);
    await settle();
    expect((await sub(s.id)).attempts[0]?.status).toBe('captured');
    expect(await rebills(s.externalId)).toHaveLength(1);
  });
});

describe('the notification overtakes the answer', () => {
  it('PaidOrderNotification applied before the pass writes its answer: captured once, and the pass counts it captured', async () => {
    const faults = app.app.get(RebillFaultPoints);
    const s = await dueSubscription();
    faults.arm({
      // hold the pass's write until the notification of the same charge has been processed (it failed once as
      // "skipped" when the notification won the race by itself)
      afterGatewayCall: async (call) => {
        if (call.subscriptionId !== s.id) {
          return;
        }
        await eventually(async () => {
          await app.http.get('/sandbox/cleverbridge/webhooks/idle').query({ timeoutMs: 2000 });
          await app.http.post('/ops/inbox/process').set(OPERATOR);
          return (await sub(s.id)).attempts[0]?.status === 'captured';
        });
      },
    });
    let summary: RebillRunSummary;
    try {
      summary = await runNow();
    } finally {
      faults.disarm();
    }
    expect(summary.captured).toBeGreaterThanOrEqual(1);
    const after = await sub(s.id);
    expect(after.attempts).toHaveLength(1);
    expect(after.attempts[0]).toMatchObject({ status: 'captured', tryNumber: 1 });
    expect(await rebills(s.externalId)).toHaveLength(1);
  });
});

describe('killed between the gateway call and the database write', () => {
  it('the next run finds the attempt in flight and looks it up (ProcessCart has no idempotency key): charged once', async () => {
    const faults = app.app.get(RebillFaultPoints);
    const s = await dueSubscription();
    // no notification may settle it behind our back: only the lookup can
    await app.http.post('/sandbox/faults/cleverbridge').send({ lostWebhookRate: 1 }).expect(200);
    let killed = 0;
    faults.arm({
      afterGatewayCall: (call) => {
        if (call.subscriptionId !== s.id) {
          return Promise.resolve();
        }
        killed += 1;
        return Promise.reject(new Error('simulated crash after the gateway call'));
      },
    });
    try {
      await app.http.post('/ops/rebilling/run').set(OPERATOR).expect(200);
    } finally {
      faults.disarm();
    }
    expect(killed).toBe(1);
    const inFlight = await sub(s.id);
    expect(inFlight.attempts[0]).toMatchObject({ status: 'charging', tryNumber: 1, tries: [] });
    const key = inFlight.attempts[0]?.idempotencyKey ?? '';
    const charged = await rebills(s.externalId);
    expect(charged).toHaveLength(1); // Cleverbridge did charge; we never wrote it down

    try {
      await advance({ minutes: 2 });
    } finally {
      await app.http.delete('/sandbox/faults/cleverbridge').expect(204);
    }
    const after = await sub(s.id);
    expect(after.attempts).toHaveLength(1);
    expect(after.attempts[0]).toMatchObject({
      status: 'captured',
      idempotencyKey: key,
      externalPaymentId: charged[0]?.purchaseId,
    });
    expect(await rebills(s.externalId)).toHaveLength(1);
    const requests = (await app.http.get('/sandbox/cleverbridge/requests')).body as {
      attempt?: string;
      replayed?: boolean;
    }[];
    expect(requests.filter((r) => r.attempt === key)).toHaveLength(1); // never sent again
  });
});

describe('claim', () => {
  /** Rows due in 2001 (nothing else in the shared database is), so the claims below only see them. */
  async function seedDue(db: DataSource, n: number, marker: string): Promise<string[]> {
    const rows: { id: string }[] = await db.query(
      `INSERT INTO connector_subscriptions (customer_id, gateway, external_subscription_id, product_id, amount_minor,
         currency, billing_interval, billing_anchor, next_billing_at, next_attempt_at, status)
       SELECT $1 || i, 'cleverbridge', $1 || i, '100001', 999, 'USD', 'P1M', t, t, t, 'active'
       FROM generate_series(1, $2) AS i, LATERAL (SELECT timestamptz '2001-01-01' + i * interval '1 second' AS t) x
       RETURNING id`,
      [marker, n],
    );
    return rows.map((r) => r.id);
  }

  it('leases a batch to one claimer: concurrent claims are disjoint, leased rows wait, expired leases return', async () => {
    const db = app.app.get(DataSource);
    const service = app.app.get(RebillingService);
    const marker = `claim-${randomUUID()}-`;
    const ids = await seedDue(db, 10, marker);
    const due = new Date('2001-01-02T00:00:00Z');
    const clock = { due, now: () => due };
    try {
      const [a, b] = await Promise.all([service.claim(clock, 4), service.claim(clock, 4)]);
      const claimedA = (a ?? []).map((c) => c.subscription.id);
      const claimedB = (b ?? []).map((c) => c.subscription.id);
      expect(claimedA).toHaveLength(4);
      expect(claimedB).toHaveLength(4);
      expect(claimedA.filter((id) => claimedB.includes(id))).toEqual([]);
      expect([...claimedA, ...claimedB].every((id) => ids.includes(id))).toBe(true);

      const rest = (await service.claim(clock, 10)).map((c) => c.subscription.id);
      expect(rest.sort()).toEqual(
        ids.filter((id) => !claimedA.includes(id) && !claimedB.includes(id)).sort(),
      );
      expect(await service.claim(clock, 10)).toEqual([]); // everything leased

      const leases: { lease_owner: string }[] = await db.query(
        `SELECT lease_owner FROM connector_subscriptions WHERE id = ANY($1::uuid[])`,
        [ids],
      );
      expect(new Set(leases.map((l) => l.lease_owner))).toEqual(new Set([service.instanceId]));

      // a dead instance's lease runs out: the rows come back (oldest due first)
      const afterLease = new Date(due.getTime() + 3 * 60_000);
      const reclaimed = await service.claim({ due, now: () => afterLease }, 3);
      expect(reclaimed.map((c) => c.subscription.id)).toEqual(ids.slice(0, 3));

      // rows not due yet and rows with nothing to do are never claimed
      await db.query(`UPDATE connector_subscriptions SET lease_until = NULL WHERE id = ANY($1::uuid[])`, [
        ids,
      ]);
      await db.query(`UPDATE connector_subscriptions SET next_attempt_at = NULL WHERE id = $1`, [ids[0]]);
      await db.query(`UPDATE connector_subscriptions SET next_attempt_at = '2001-01-03' WHERE id = $1`, [
        ids[1],
      ]);
      const eligible = (await service.claim(clock, 100)).map((c) => c.subscription.id);
      expect(eligible.sort()).toEqual(ids.slice(2).sort());
    } finally {
      await db.query(`DELETE FROM connector_subscriptions WHERE id = ANY($1::uuid[])`, [ids]);
    }
  });
});

describe('API', () => {
  it('creates, reads and cancels; a cancelled subscription is not rebilled', async () => {
    const s = await dueSubscription();
    const cancelled = await app.http.post(`/v1/subscriptions/${s.id}/cancel`).set(API);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', cancelReason: 'requested' });
    expect(cancelled.body.nextAttemptAt).toBeUndefined();
    const again = await app.http.post(`/v1/subscriptions/${s.id}/cancel`).set(API);
    expect(again.status).toBe(200);
    await runNow();
    expect(await rebills(s.externalId)).toHaveLength(0);
    expect((await app.http.get(`/v1/subscriptions/${randomUUID()}`).set(API)).status).toBe(404);
    expect((await app.http.post(`/v1/subscriptions/${randomUUID()}/cancel`).set(API)).status).toBe(404);
  });
});
