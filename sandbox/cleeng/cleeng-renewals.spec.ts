import { sandboxSettings } from '../sandbox-settings';
import { SandboxClockService } from '../clock/sandbox-clock.service';
import { SandboxFaults } from '../faults/sandbox-faults';
import { CleengSandboxApi } from './cleeng-sandbox.api';
import { CleengSandboxStore, DEFAULT_DUNNING, RenewalState } from './cleeng-sandbox.store';
import { CleengRenewalScheduler, decideRenewal, RenewalFacts } from './cleeng-renewals';
import { CleengWebhookEmitter } from './cleeng-webhook.emitter';
import { WireOrder, WirePayment } from './cleeng-sandbox.wire';

const config = sandboxSettings({}, 'http://localhost:3000');
const HOUR_MS = 60 * 60 * 1000;
const CUSTOMER = 927751142;
const SUBSCRIPTION = 400000001;
const DETAILS = 300000001;

const at = (iso: string): Date => new Date(iso);
const hoursAfter = (date: Date, hours: number): Date => new Date(date.getTime() + hours * HOUR_MS);

describe('decideRenewal (pure dunning rules)', () => {
  const dueAt = at('2026-02-01T00:00:00Z');
  const facts = (overrides: Partial<RenewalFacts> = {}): RenewalFacts => ({
    subscription: { status: 'active', expiresAt: dueAt },
    state: undefined,
    payments: [],
    settings: { ...DEFAULT_DUNNING, paymentAttempts: [24, 72] },
    now: dueAt,
    ...overrides,
  });
  const firedOnce = (firedAt = dueAt): RenewalState => ({
    subscriptionId: 1,
    dueAt,
    attempts: [{ index: 0, scheduledAt: dueAt, firedAt, topic: 'subscriptionReadyForPaymentCapture' }],
  });

  it('fires nothing before the due date, for stopped subscriptions or after termination fired', () => {
    expect(decideRenewal(facts({ now: hoursAfter(dueAt, -1) }))).toEqual({ kind: 'none' });
    expect(decideRenewal(facts({ subscription: { status: 'stopped', expiresAt: dueAt } }))).toEqual({
      kind: 'none',
    });
    expect(
      decideRenewal(
        facts({ state: { ...firedOnce(), terminationFiredAt: dueAt }, now: hoursAfter(dueAt, 999) }),
      ),
    ).toEqual({ kind: 'none' });
  });

  it('starts with attempt 0 at the due date; the topic follows the dunning mode', () => {
    expect(decideRenewal(facts())).toEqual({
      kind: 'attempt',
      index: 0,
      scheduledAt: dueAt,
      topic: 'subscriptionReadyForPaymentCapture',
    });
    expect(decideRenewal(facts({ settings: { ...DEFAULT_DUNNING, authoriseFirst: true } }))).toMatchObject({
      kind: 'attempt',
      topic: 'subscriptionReadyForPaymentAuthorisation',
    });
  });

  it('treats progress recorded for an earlier period as a fresh start', () => {
    const old = { ...firedOnce(), dueAt: at('2026-01-01T00:00:00Z') };
    expect(decideRenewal(facts({ state: old }))).toMatchObject({ kind: 'attempt', index: 0 });
  });

  it('waits for the next offset after a rejection, then fires the retry for its nominal time', () => {
    const rejected = [{ id: 9, status: 'rejected' as const, createdAt: hoursAfter(dueAt, 0.1) }];
    expect(
      decideRenewal(facts({ state: firedOnce(), payments: rejected, now: hoursAfter(dueAt, 23) })),
    ).toEqual({
      kind: 'none',
    });
    expect(
      decideRenewal(facts({ state: firedOnce(), payments: rejected, now: hoursAfter(dueAt, 30) })),
    ).toEqual({
      kind: 'attempt',
      index: 1,
      scheduledAt: hoursAfter(dueAt, 24),
      topic: 'subscriptionReadyForPaymentCapture',
    });
  });

  it('counts an unanswered attempt as failed only when the gap since it actually fired has passed', () => {
    // the clock jumped: attempt 0 fired 100 h late, so retry 1 waits until 24 h after that
    const late = firedOnce(hoursAfter(dueAt, 100));
    expect(decideRenewal(facts({ state: late, now: hoursAfter(dueAt, 110) }))).toEqual({ kind: 'none' });
    expect(decideRenewal(facts({ state: late, now: hoursAfter(dueAt, 124) }))).toMatchObject({
      kind: 'attempt',
      index: 1,
    });
  });

  it('asks for the capture of an authorised payment once, and holds everything while it waits', () => {
    const authorised = [{ id: 7, status: 'authorized' as const, createdAt: dueAt }];
    const state = firedOnce();
    expect(decideRenewal(facts({ state, payments: authorised }))).toEqual({
      kind: 'capture',
      attemptIndex: 0,
      paymentId: 7,
    });
    const asked: RenewalState = {
      ...state,
      attempts: state.attempts.map((a) => ({ ...a, captureFiredFor: 7 })),
    };
    expect(decideRenewal(facts({ state: asked, payments: authorised, now: hoursAfter(dueAt, 500) }))).toEqual(
      {
        kind: 'none',
      },
    );
  });

  it('ignores payments made before the current attempt fired', () => {
    const stale = [{ id: 3, status: 'rejected' as const, createdAt: hoursAfter(dueAt, -1) }];
    const last: RenewalState = {
      ...firedOnce(),
      attempts: [
        ...firedOnce().attempts,
        {
          index: 1,
          scheduledAt: hoursAfter(dueAt, 24),
          firedAt: hoursAfter(dueAt, 24),
          topic: 'subscriptionReadyForPaymentCapture',
        },
        {
          index: 2,
          scheduledAt: hoursAfter(dueAt, 72),
          firedAt: hoursAfter(dueAt, 72),
          topic: 'subscriptionReadyForPaymentCapture',
        },
      ],
    };
    // last attempt unanswered: termination only after the 24 h answer window
    expect(decideRenewal(facts({ state: last, payments: stale, now: hoursAfter(dueAt, 80) }))).toEqual({
      kind: 'none',
    });
    expect(decideRenewal(facts({ state: last, payments: stale, now: hoursAfter(dueAt, 96) }))).toEqual({
      kind: 'terminate',
    });
  });

  it('terminates after the last attempt fails, not before the grace period ends', () => {
    const last: RenewalState = {
      ...firedOnce(),
      attempts: [
        ...firedOnce().attempts,
        {
          index: 1,
          scheduledAt: hoursAfter(dueAt, 24),
          firedAt: hoursAfter(dueAt, 24),
          topic: 'subscriptionReadyForPaymentCapture',
        },
        {
          index: 2,
          scheduledAt: hoursAfter(dueAt, 72),
          firedAt: hoursAfter(dueAt, 72),
          topic: 'subscriptionReadyForPaymentCapture',
        },
      ],
    };
    const rejected = [{ id: 9, status: 'rejected' as const, createdAt: hoursAfter(dueAt, 72) }];
    expect(decideRenewal(facts({ state: last, payments: rejected, now: hoursAfter(dueAt, 72) }))).toEqual({
      kind: 'terminate',
    });
    const withGrace = { ...DEFAULT_DUNNING, paymentAttempts: [24, 72], gracePeriodHours: 240 };
    expect(
      decideRenewal(
        facts({ state: last, payments: rejected, settings: withGrace, now: hoursAfter(dueAt, 239) }),
      ),
    ).toEqual({ kind: 'none' });
    expect(
      decideRenewal(
        facts({ state: last, payments: rejected, settings: withGrace, now: hoursAfter(dueAt, 240) }),
      ),
    ).toEqual({ kind: 'terminate' });
  });
});

/** The store, the scheduler and the emitter with delivery paused: the log shows exactly what Cleeng would send. */
function world(): {
  clock: SandboxClockService;
  store: CleengSandboxStore;
  api: CleengSandboxApi;
  sandboxClock: SandboxClockService;
  scheduler: CleengRenewalScheduler;
  sent: () => { topic: string; data: Record<string, unknown> }[];
  close: () => void;
} {
  const clock = new SandboxClockService();
  const store = new CleengSandboxStore(config, clock);
  store.useDeterministicIds();
  const emitter = new CleengWebhookEmitter(config, new SandboxFaults(), store, clock);
  emitter.dispatcher.pause();
  emitter.onModuleInit();
  const sandboxClock = clock;
  const scheduler = new CleengRenewalScheduler(store, emitter, sandboxClock, clock);
  scheduler.onModuleInit();
  return {
    clock,
    store,
    api: new CleengSandboxApi(store),
    sandboxClock,
    scheduler,
    sent: () =>
      emitter.deliveries().map((d) => ({ topic: d.topic, data: d.data as Record<string, unknown> })),
    close: () => {
      scheduler.onModuleDestroy();
      emitter.onModuleDestroy();
    },
  };
}

type World = ReturnType<typeof world>;

function subscribe(w: World, offerId = 'S100000001_US'): Date {
  const order = w.api.createOrder({
    customerId: CUSTOMER,
    offerId,
    currency: 'USD',
    country: 'US',
    paymentMethodId: 101,
  }).body.order as WireOrder;
  const response = w.api.createPayment({
    orderId: order.id,
    status: 'captured',
    paymentOperation: order.totalPrice === 0 ? 'initial-free-transaction' : 'initial-payment',
    externalPaymentId: 'psp-initial',
    paymentDetails: {
      token: 'tok-1',
      paymentMethodSpecificParams: { variant: 'visa', lastCardFourDigits: '1111' },
    },
  });
  expect(response.status).toBe(200);
  const subscription = w.store.findSubscription(SUBSCRIPTION);
  if (!subscription) {
    throw new Error('no subscription');
  }
  return new Date(subscription.expiresAt);
}

/** What the connector does with a renewal webhook: a recurring order and a payment with the given outcome. */
function report(
  w: World,
  status: 'captured' | 'authorized' | 'rejected',
  offerId = 'S100000001_US',
): WirePayment {
  const order = w.api.createOrder({
    customerId: CUSTOMER,
    offerId,
    currency: 'USD',
    country: 'US',
    paymentMethodId: 101,
    paymentOperation: 'recurring-payment',
    subscriptionId: SUBSCRIPTION,
  }).body.order as WireOrder;
  const response = w.api.createPayment({
    orderId: order.id,
    status,
    paymentOperation: 'recurring-payment',
    paymentDetailsId: DETAILS,
    ...(status === 'rejected' ? { rejectedReason: 'PAY_CLE' } : { externalPaymentId: `psp-${order.id}` }),
  });
  expect(response.status).toBe(200);
  return response.body.payment as WirePayment;
}

async function advanceTo(w: World, date: Date): Promise<void> {
  const ms = date.getTime() - w.clock.now().getTime();
  await w.sandboxClock.advance({ minutes: Math.max(0, ms) / 60_000 });
}

const topics = (w: World): string[] => w.sent().map((s) => s.topic);

describe('Cleeng renewals on the sandbox test clock', () => {
  const worlds: World[] = [];
  const make = (): World => {
    const w = world();
    worlds.push(w);
    return w;
  };
  afterEach(() => {
    for (const w of worlds.splice(0)) {
      w.close();
    }
  });

  it('capture-only: fires once at the due date, again only the period after a captured renewal', async () => {
    const w = make();
    const due = subscribe(w);
    await w.sandboxClock.advance({ days: 1 });
    expect(topics(w)).toEqual([]);

    await advanceTo(w, hoursAfter(due, 1));
    await w.sandboxClock.advance({ minutes: 5 });
    await w.sandboxClock.advance({ hours: 0 });
    expect(w.scheduler.runDue()).toEqual([]);
    expect(w.sent()).toEqual([
      {
        topic: 'subscriptionReadyForPaymentCapture',
        data: {
          subscriptionId: String(SUBSCRIPTION),
          offerId: 'S100000001_US',
          customerId: CUSTOMER,
          customerEmail: `customer-${CUSTOMER}@sandbox.invalid`,
          paymentDetailsId: DETAILS,
          active: true,
          dunningAttemptDate: due.toISOString(),
          dunningStatus: 'capture',
          expirationDate: due.toISOString(),
          currency: 'USD',
          paymentCountry: 'US',
          paymentMethodId: 101,
          token: 'tok-1',
        },
      },
    ]);

    report(w, 'captured');
    const extended = w.store.findSubscription(SUBSCRIPTION)?.expiresAt;
    expect(extended?.getTime()).toBeGreaterThan(due.getTime());
    await w.sandboxClock.advance({ days: 1 });
    expect(topics(w)).toHaveLength(1);

    await advanceTo(w, hoursAfter(extended ?? due, 0.5));
    expect(topics(w)).toEqual(['subscriptionReadyForPaymentCapture', 'subscriptionReadyForPaymentCapture']);
    expect(w.sent()[1]?.data.expirationDate).toBe(extended?.toISOString());
  });

  it('authorise-first: authorisation at the due date, capture with the paymentId once authorised', async () => {
    const w = make();
    w.store.setDunning({ authoriseFirst: true });
    const due = subscribe(w);
    await advanceTo(w, hoursAfter(due, 2));
    await w.sandboxClock.advance({ hours: 1 });
    expect(topics(w)).toEqual(['subscriptionReadyForPaymentAuthorisation']);
    expect(w.sent()[0]?.data).toMatchObject({ dunningStatus: 'authorize', token: 'tok-1' });
    expect(w.sent()[0]?.data).not.toHaveProperty('paymentId');

    const authorised = report(w, 'authorized');
    // the report itself triggers the capture webhook; no clock move needed
    expect(topics(w)).toEqual([
      'subscriptionReadyForPaymentAuthorisation',
      'subscriptionReadyForPaymentCapture',
    ]);
    expect(w.sent()[1]?.data).toMatchObject({ paymentId: authorised.id, dunningStatus: 'capture' });
    await w.sandboxClock.advance({ days: 10 });
    expect(topics(w)).toHaveLength(2);

    expect(w.api.updatePayment(String(authorised.id), { status: 'captured' }).status).toBe(200);
    expect(w.store.findSubscription(SUBSCRIPTION)?.expiresAt.getTime()).toBeGreaterThan(due.getTime());
    await w.sandboxClock.advance({ days: 1 });
    expect(topics(w)).toHaveLength(2);
  });

  it('authorise-first: a failed capture of the authorised payment moves on to the next attempt', async () => {
    const w = make();
    w.store.setDunning({ authoriseFirst: true, paymentAttempts: [24] });
    const due = subscribe(w);
    await advanceTo(w, due);
    const authorised = report(w, 'authorized');
    expect(
      w.api.updatePayment(String(authorised.id), { status: 'rejected', rejectedReason: 'PAY_DEC' }).status,
    ).toBe(200);
    await advanceTo(w, hoursAfter(due, 24));
    expect(topics(w)).toEqual([
      'subscriptionReadyForPaymentAuthorisation',
      'subscriptionReadyForPaymentCapture',
      'subscriptionReadyForPaymentAuthorisation',
    ]);
  });

  it('retries at each offset after a rejection and asks for termination after the last one', async () => {
    const w = make();
    const due = subscribe(w);
    await advanceTo(w, due);
    report(w, 'rejected');
    await w.sandboxClock.advance({ hours: 23 });
    expect(topics(w)).toEqual(['subscriptionReadyForPaymentCapture']);

    for (const [index, offset] of [24, 72, 168].entries()) {
      await advanceTo(w, hoursAfter(due, offset));
      await w.sandboxClock.advance({ minutes: 1 });
      expect(w.sent()).toHaveLength(index + 2);
      expect(w.sent().at(-1)?.data.dunningAttemptDate).toBe(hoursAfter(due, offset).toISOString());
      report(w, 'rejected');
    }
    // the last rejection is answered right away (grace period 0)
    expect(w.sent().at(-1)).toEqual({
      topic: 'subscriptionReadyForTermination',
      data: {
        subscriptionId: String(SUBSCRIPTION),
        customerId: CUSTOMER,
        offerId: 'S100000001_US',
        paymentMethodId: 101,
      },
    });
    await w.sandboxClock.advance({ days: 30 });
    expect(topics(w)).toEqual([
      'subscriptionReadyForPaymentCapture',
      'subscriptionReadyForPaymentCapture',
      'subscriptionReadyForPaymentCapture',
      'subscriptionReadyForPaymentCapture',
      'subscriptionReadyForTermination',
    ]);
    expect(w.store.renewalState(SUBSCRIPTION)?.attempts.map((a) => a.index)).toEqual([0, 1, 2, 3]);
  });

  it('does not wait forever for an answer that never comes (lost webhook)', async () => {
    const w = make();
    w.store.setDunning({ authoriseFirst: false, paymentAttempts: [24] });
    const due = subscribe(w);
    await advanceTo(w, due);
    // the retry is due 24 h after the first attempt actually fired (a few real ms after `due`): step past it
    await advanceTo(w, hoursAfter(due, 24.05));
    expect(topics(w)).toEqual(['subscriptionReadyForPaymentCapture', 'subscriptionReadyForPaymentCapture']);
    await advanceTo(w, hoursAfter(due, 47));
    expect(topics(w)).toHaveLength(2);
    await advanceTo(w, hoursAfter(due, 48.1));
    expect(topics(w).at(-1)).toBe('subscriptionReadyForTermination');
  });

  it('catches up after a big clock jump one renewal at a time, as the connector answers', async () => {
    const w = make();
    subscribe(w);
    await w.sandboxClock.advance({ days: 100 });
    await w.sandboxClock.advance({ minutes: 1 });
    expect(topics(w)).toEqual(['subscriptionReadyForPaymentCapture']);
    report(w, 'captured');
    report(w, 'captured');
    // each captured renewal extends by a month; the next overdue period fires at once
    expect(topics(w)).toEqual([
      'subscriptionReadyForPaymentCapture',
      'subscriptionReadyForPaymentCapture',
      'subscriptionReadyForPaymentCapture',
    ]);
    const expirations = w.sent().map((s) => s.data.expirationDate as string);
    expect(new Set(expirations).size).toBe(3);
  });

  it('bills a free trial when the trial ends', async () => {
    const w = make();
    const trialEnd = subscribe(w, 'S100000002_US');
    expect(trialEnd.getTime() - w.clock.now().getTime()).toBeLessThanOrEqual(7 * 24 * HOUR_MS);
    expect(w.store.findSubscription(SUBSCRIPTION)?.inTrial).toBe(true);
    await w.sandboxClock.advance({ days: 6 });
    expect(topics(w)).toEqual([]);
    await w.sandboxClock.advance({ days: 1, minutes: 1 });
    expect(w.sent()).toEqual([
      expect.objectContaining({
        topic: 'subscriptionReadyForPaymentCapture',
        data: expect.objectContaining({ offerId: 'S100000002_US', expirationDate: trialEnd.toISOString() }),
      }),
    ]);
  });

  it('leaves stopped subscriptions alone', async () => {
    const w = make();
    subscribe(w);
    expect(w.api.updateSubscription(String(SUBSCRIPTION), { status: 'stopped' }).status).toBe(200);
    await w.sandboxClock.advance({ days: 40 });
    expect(topics(w)).toEqual([]);
  });

  it('announces details deactivated by a newer active set', () => {
    const w = make();
    subscribe(w);
    const created = w.api.createPaymentDetails({
      customerId: CUSTOMER,
      token: 'tok-2',
      paymentMethodId: 101,
    });
    expect(created.status).toBe(200);
    expect(w.sent()).toEqual([
      {
        topic: 'paymentDetailsDeactivated',
        data: { paymentDetailsId: DETAILS, customerId: CUSTOMER, paymentMethodId: 101 },
      },
    ]);
  });
});
