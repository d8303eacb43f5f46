import { Clock } from '../../sandbox/clock/clock';
import { Money } from '../../src/common/money/money';
import { sandboxSettings } from '../../sandbox/sandbox-settings';
import { toProcessCartRequest, toRebillCart } from '../../src/gateways/cleverbridge/cleverbridge.mapper';
import { CleverbridgeProcessCartResponse } from '../../src/gateways/cleverbridge/cleverbridge.types';
import { ProcessCartInput } from '../../src/gateways/gateway.provider';
import { parseProcessCart } from '../../sandbox/cleverbridge/cleverbridge-sandbox.parse';
import {
  CleverbridgeSandboxStore,
  ProcessCartOutcome,
} from '../../sandbox/cleverbridge/cleverbridge-sandbox.store';

const config = sandboxSettings(
  {
    CLEVERBRIDGE_USERNAME: 'u',
    CLEVERBRIDGE_PASSWORD: 'p',
    CLEVERBRIDGE_NOTIFY_USERNAME: 'nu',
    CLEVERBRIDGE_NOTIFY_PASSWORD: 'np',
  },
  'http://localhost:3000',
);
const HOUR_MS = 60 * 60 * 1000;

class TestClock extends Clock {
  current = new Date('2025-03-01T12:00:00.000Z');

  now(): Date {
    return new Date(this.current);
  }

  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

function setup(): { clock: TestClock; store: CleverbridgeSandboxStore } {
  const clock = new TestClock();
  const store = new CleverbridgeSandboxStore(config, clock);
  store.useDeterministicIds();
  return { clock, store };
}

let attempts = 0;

/** What the real gateway would send, through the emulator's own parser. */
function send(
  store: CleverbridgeSandboxStore,
  overrides: Partial<ProcessCartInput> = {},
): ProcessCartOutcome {
  attempts += 1;
  const input: ProcessCartInput = {
    idempotencyKey: `att_${attempts}`,
    reference: `pay_${attempts}`,
    customer: { customerReferenceId: 'cust-1' },
    items: [{ productId: '100001', quantity: 1 }],
    mode: 'interactive',
    ...overrides,
  };
  const parsed = parseProcessCart(toProcessCartRequest(input));
  if (!parsed.ok) {
    throw new Error(parsed.message);
  }
  return store.processCart(parsed.cart);
}

function behaviour(value: string, overrides: Partial<ProcessCartInput> = {}): Partial<ProcessCartInput> {
  return { ...overrides, extraParameters: { ...overrides.extraParameters, 'x-sandbox-behaviour': value } };
}

function rebill(
  store: CleverbridgeSandboxStore,
  subscriptionId: string,
  extra: Record<string, string> = {},
  idempotencyKey = `att_rebill_${attempts + 1}`,
): ProcessCartOutcome {
  const input = toRebillCart({
    idempotencyKey,
    reference: `pay_${idempotencyKey}`,
    amount: Money.of(1299, 'USD'),
    customer: { reference: 'cust-1' },
    externalSubscriptionId: subscriptionId,
    productId: '100001',
    extraParameters: extra,
    defaultLanguageId: 'en',
    periodStart: new Date('2025-04-01T00:00:00.000Z'),
  });
  return send(store, input);
}

function ok(outcome: ProcessCartOutcome): CleverbridgeProcessCartResponse {
  expect(outcome.status).toBe(200);
  return outcome.body as CleverbridgeProcessCartResponse;
}

describe('CleverbridgeSandboxStore', () => {
  it('pays by default, creates a subscription for a subscription product and notifies with its id', () => {
    const { store } = setup();
    const outcome = send(store, { extraParameters: { 'x-campaign': 'spring' } });
    expect(outcome.body).toEqual({
      status: 'Paid',
      purchaseId: '500000001',
      subscriptionId: 'S9000001',
      isPaymentRetryScheduled: false,
    });
    expect(outcome.notifications).toEqual([
      {
        meta: { type: 'PaidOrderNotification', id: 'N1', createdAt: '2025-03-01T12:00:00.000Z' },
        purchase: {
          id: '500000001',
          status: 'Paid',
          createdAt: '2025-03-01T12:00:00.000Z',
          paidAt: '2025-03-01T12:00:00.000Z',
          currencyId: 'USD',
          totalGross: 9.99,
          customer: { customerReferenceId: 'cust-1' },
          items: [
            {
              productId: '100001',
              productName: 'Sandbox Pro (monthly)',
              quantity: 1,
              unitPrice: 9.99,
              totalGross: 9.99,
              recurringBilling: { subscriptionId: 'S9000001' },
            },
          ],
          extraParameters: {
            extraParameter: [
              { key: 'x-campaign', value: 'spring' },
              { key: 'x-connector-attempt', value: `att_${attempts}` },
              { key: 'x-connector-reference', value: `pay_${attempts}` },
            ],
          },
        },
        recurringBilling: { subscriptionId: 'S9000001', status: 'HandledByClient' },
      },
    ]);
    expect(store.subscription('S9000001')).toMatchObject({
      customerReferenceId: 'cust-1',
      productId: '100001',
      status: 'HandledByClient',
      purchaseIds: ['500000001'],
    });
  });

  it('a one-off product creates no subscription; a dynamic price and name replace the catalogue', () => {
    const { store } = setup();
    const body = ok(
      send(store, {
        items: [
          {
            productId: '200001',
            quantity: 3,
            dynamicPrice: Money.of(2000, 'EUR'),
            dynamicName: 'Support (3 h)',
          },
        ],
      }),
    );
    expect(body).toEqual({ status: 'Paid', purchaseId: '500000001', isPaymentRetryScheduled: false });
    expect(store.listSubscriptions()).toEqual([]);
    expect(store.purchase('500000001')).toMatchObject({
      total: { value: 6000, currency: 'EUR' },
      items: [{ productName: 'Support (3 h)', unitPrice: { value: 2000, currency: 'EUR' } }],
      createdSubscription: false,
    });
  });

  it('rebilling with the subscription id charges that subscription and never opens another', () => {
    const { store } = setup();
    send(store);
    const outcome = rebill(store, 'S9000001');
    expect(ok(outcome)).toEqual({ status: 'Paid', purchaseId: '500000002', isPaymentRetryScheduled: false });
    expect(outcome.notifications[0]).toMatchObject({
      meta: { type: 'PaidOrderNotification' },
      purchase: { id: '500000002', totalGross: 12.99, customer: { customerReferenceId: 'cust-1' } },
      recurringBilling: { subscriptionId: 'S9000001' },
    });
    expect(store.listSubscriptions()).toHaveLength(1);
    expect(
      store.ledger({ subscriptionId: 'S9000001' }).purchases.map((p) => [p.purchaseId, p.rebill, p.period]),
    ).toEqual([
      ['500000001', false, undefined],
      ['500000002', true, '2025-04-01'],
    ]);
  });

  it('unknown subscription, unknown LogonPurchaseId and unknown product are 400 InvalidRequest', () => {
    const { store } = setup();
    expect(rebill(store, 'S404')).toMatchObject({
      status: 400,
      body: { status: 'InvalidRequest', error: { code: 'SUBSCRIPTION_NOT_FOUND' } },
    });
    expect(send(store, { customer: { logonPurchaseId: '1' } })).toMatchObject({
      status: 400,
      body: { error: { code: 'PURCHASE_NOT_FOUND' } },
    });
    expect(send(store, { items: [{ productId: '999', quantity: 1 }] })).toMatchObject({
      status: 400,
      body: { error: { code: 'PRODUCT_NOT_FOUND' } },
    });
    expect(store.ledger().purchases).toEqual([]);
  });

  it('a former purchase id identifies the same customer', () => {
    const { store } = setup();
    send(store, { items: [{ productId: '200002', quantity: 1 }] });
    ok(
      send(store, {
        customer: { logonPurchaseId: '500000001' },
        items: [{ productId: '200001', quantity: 1 }],
      }),
    );
    expect(store.purchase('500000002')).toMatchObject({ customerReferenceId: 'cust-1' });
  });

  it('offline: WaitingForOfflinePayment now, PaidOrderNotification (and the subscription) when the money arrives', () => {
    const { store } = setup();
    const outcome = send(store, behaviour('offline'));
    expect(outcome.body).toEqual({
      status: 'WaitingForOfflinePayment',
      purchaseId: '500000001',
      isPaymentRetryScheduled: false,
    });
    expect(outcome.notifications.map((n) => n.meta.type)).toEqual(['NewOfflinePaymentPurchaseNotification']);
    expect(store.listSubscriptions()).toEqual([]);
    const paid = store.receiveOfflinePayment('500000001');
    expect(paid).toMatchObject({ ok: true, purchase: { status: 'Paid', subscriptionId: 'S9000001' } });
    expect(paid.ok && paid.notifications[0]).toMatchObject({
      meta: { type: 'PaidOrderNotification' },
      recurringBilling: { subscriptionId: 'S9000001' },
    });
    expect(store.receiveOfflinePayment('500000001')).toMatchObject({ ok: false, status: 409 });
  });

  it.each(['PAY_CEX', 'PAY_CLE', 'PAY_DEC', 'PAY_REJ', 'FRA_REJ', 'PAY_SCO'])(
    'decline:%s -> Pending with URL and payment result; a retry only with :retry',
    (code) => {
      const { store } = setup();
      const declined = send(store, behaviour(`decline:${code}`));
      expect(declined.body).toEqual({
        status: 'Pending',
        purchaseId: '500000001',
        url: 'http://localhost:3000/sandbox/cleverbridge/checkout/cs_1',
        paymentResult: { code, message: expect.any(String) },
        isPaymentRetryScheduled: false,
      });
      expect(declined.notifications).toEqual([]);
      expect(store.purchase('500000001')).toMatchObject({
        status: 'Declined',
        retryScheduled: false,
        retries: [],
      });

      const retried = send(store, behaviour(`decline:${code}:retry`));
      expect(ok(retried)).toMatchObject({ status: 'Pending', isPaymentRetryScheduled: true });
      expect(store.purchase('500000002')).toMatchObject({
        retryScheduled: true,
        retries: [{ dueAt: '2025-03-01T13:00:00.000Z' }],
      });
    },
  );

  it('CCA_EXP always schedules a retry (the seed: the Expiration Date Checker runs, retry in 1 h)', () => {
    const { store } = setup();
    expect(ok(send(store, behaviour('decline:CCA_EXP')))).toMatchObject({
      paymentResult: { code: 'CCA_EXP' },
      isPaymentRetryScheduled: true,
    });
  });

  it('interactive action-needed keeps the cart 72 h behind a session URL; paying saves and notifies', () => {
    const { store, clock } = setup();
    const outcome = send(store, behaviour('action-needed'));
    expect(outcome.body).toEqual({
      status: 'CustomerActionNeeded',
      url: 'http://localhost:3000/sandbox/cleverbridge/checkout/cs_1',
      isPaymentRetryScheduled: false,
    });
    expect(store.ledger().purchases).toEqual([]);
    expect(store.checkoutView('cs_1')).toMatchObject({
      state: 'open',
      expiresAt: '2025-03-04T12:00:00.000Z',
    });

    clock.advance(71 * HOUR_MS);
    const paid = store.completeCheckout('cs_1');
    expect(paid).toMatchObject({
      ok: true,
      purchase: { purchaseId: '500000001', subscriptionId: 'S9000001' },
    });
    expect(paid.ok && paid.notifications.map((n) => n.meta.type)).toEqual(['PaidOrderNotification']);
    expect(store.completeCheckout('cs_1')).toMatchObject({ ok: false, status: 409 });
    expect(store.checkoutView('cs_1')).toMatchObject({ state: 'paid', purchaseId: '500000001' });
  });

  it('an interactive session expires after 72 h', () => {
    const { store, clock } = setup();
    send(store, behaviour('action-needed'));
    clock.advance(72 * HOUR_MS);
    expect(store.checkoutView('cs_1')).toMatchObject({ state: 'expired' });
    expect(store.completeCheckout('cs_1')).toMatchObject({ ok: false, status: 422 });
    expect(store.ledger().purchases).toEqual([]);
  });

  it('non-interactive action-needed saves the purchase and returns its id with the URL', () => {
    const { store } = setup();
    expect(ok(send(store, behaviour('action-needed', { mode: 'non-interactive' })))).toEqual({
      status: 'CustomerActionNeeded',
      purchaseId: '500000001',
      url: 'http://localhost:3000/sandbox/cleverbridge/checkout/cs_1',
      isPaymentRetryScheduled: false,
    });
    expect(store.purchase('500000001')).toMatchObject({ status: 'AwaitingCustomer', mode: 'NonInteractive' });
  });

  it('invalid -> 400, error -> 500 (nothing processed, not remembered), latency -> paid and held', () => {
    const { store } = setup();
    expect(send(store, behaviour('invalid'))).toMatchObject({
      status: 400,
      body: { status: 'InvalidRequest', error: { code: 'INVALID_REQUEST' } },
    });
    const input: Partial<ProcessCartInput> = { idempotencyKey: 'att_err', ...behaviour('error') };
    expect(send(store, input)).toMatchObject({ status: 500, body: { status: 'InternalServerError' } });
    expect(store.attemptSeen('att_err')).toBe(1); // it arrived; nothing was bought
    expect(send(store, behaviour('latency:50'))).toMatchObject({
      status: 200,
      latencyMs: 50,
      body: { status: 'Paid' },
    });
    expect(send(store, behaviour('sometimes'))).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_X_PARAMETER' } },
    });
    expect(store.ledger().purchases).toHaveLength(1);
  });

  it('a repeated x-connector-attempt is a second purchase: like the real API, nothing is deduplicated', () => {
    const { store } = setup();
    const first = send(store, { idempotencyKey: 'att_same' });
    const second = send(store, { idempotencyKey: 'att_same' });
    expect(first.body).toMatchObject({ status: 'Paid', purchaseId: '500000001' });
    expect(second.body).toMatchObject({ status: 'Paid', purchaseId: '500000002' });
    expect(second.notifications).toHaveLength(1);
    expect(store.ledger({ attempt: 'att_same' })).toMatchObject({
      purchases: [{ purchaseId: '500000001' }, { purchaseId: '500000002' }],
      calls: 2,
    });
    expect(store.attemptSeen('att_same')).toBe(2);
  });

  it('getpurchaselist: purchases created in the window, with status and the x-parameters they were made with', () => {
    const { store, clock } = setup();
    const before = new Date(clock.now().getTime() - 1);
    send(store, { idempotencyKey: 'att_list' });
    send(store, behaviour('offline', { idempotencyKey: 'att_offline' }));
    const listed = store.purchaseList(before, clock.now());
    expect(listed).toEqual([
      expect.objectContaining({
        purchaseId: '500000001',
        status: 'Paid',
        creationTime: clock.now().toISOString(),
        paymentArriveTime: clock.now().toISOString(),
        isPaymentRetryScheduled: false,
        extraParameters: {
          extraParameter: expect.arrayContaining([{ key: 'x-connector-attempt', value: 'att_list' }]),
        },
      }),
      expect.objectContaining({ purchaseId: '500000002', status: 'WaitingForOfflinePayment' }),
    ]);
    expect(store.purchaseList(before, clock.now(), ['WaitingForOfflinePayment'])).toHaveLength(1);
    expect(
      store.purchaseList(new Date(clock.now().getTime() + 1), new Date(clock.now().getTime() + 2)),
    ).toEqual([]);
  });

  it("a subscription behaviour with `times` declines the next rebill; Cleverbridge's retry pays an hour later", () => {
    const { store, clock } = setup();
    send(store);
    expect(store.setSubscriptionBehaviour('S9000001', 'decline:PAY_CLE:retry', 1)).toBe('ok');
    const declined = ok(rebill(store, 'S9000001'));
    expect(declined).toMatchObject({
      status: 'Pending',
      isPaymentRetryScheduled: true,
      paymentResult: { code: 'PAY_CLE' },
    });
    expect(store.subscription('S9000001')?.behaveAs).toBeUndefined();

    clock.advance(HOUR_MS - 1);
    expect(store.runDueRetries()).toEqual({ ran: [], notifications: [] });
    clock.advance(1);
    const run = store.runDueRetries();
    expect(run.ran).toEqual([
      { purchaseId: '500000002', subscriptionId: 'S9000001', outcome: 'Paid', retryScheduled: false },
    ]);
    expect(run.notifications).toMatchObject([
      { meta: { type: 'PaidOrderNotification' }, purchase: { id: '500000002', status: 'Paid' } },
    ]);
    expect(store.purchase('500000002')).toMatchObject({
      status: 'Paid',
      retryScheduled: false,
      retries: [{ dueAt: '2025-03-01T13:00:00.000Z', ranAt: '2025-03-01T13:00:00.000Z', outcome: 'Paid' }],
    });
    expect(store.runDueRetries(new Date('2025-03-09T00:00:00.000Z')).ran).toEqual([]);
  });

  it('retries decline again while the subscription says so, at most three times', () => {
    const { store } = setup();
    send(store);
    store.setSubscriptionBehaviour('S9000001', 'decline:PAY_DEC:retry');
    ok(rebill(store, 'S9000001'));
    const runs = ['13', '14', '15', '16'].map(
      (hour) => store.runDueRetries(new Date(`2025-03-01T${hour}:00:00.000Z`)).ran,
    );
    expect(runs).toEqual([
      [
        {
          purchaseId: '500000002',
          subscriptionId: 'S9000001',
          outcome: 'Declined',
          code: 'PAY_DEC',
          retryScheduled: true,
        },
      ],
      [
        {
          purchaseId: '500000002',
          subscriptionId: 'S9000001',
          outcome: 'Declined',
          code: 'PAY_DEC',
          retryScheduled: true,
        },
      ],
      [
        {
          purchaseId: '500000002',
          subscriptionId: 'S9000001',
          outcome: 'Declined',
          code: 'PAY_DEC',
          retryScheduled: false,
        },
      ],
      [],
    ]);
    expect(store.purchase('500000002')).toMatchObject({ status: 'Declined', retryScheduled: false });
    expect(store.setSubscriptionBehaviour('S404', 'paid')).toBe('not-found');
    expect(store.setSubscriptionBehaviour('S9000001', 'nonsense')).toBe('invalid-behaviour');
  });

  it('the request x-parameter beats the subscription behaviour, which is then not consumed', () => {
    const { store } = setup();
    send(store);
    store.setSubscriptionBehaviour('S9000001', 'decline:PAY_REJ', 1);
    expect(ok(rebill(store, 'S9000001', { 'x-sandbox-behaviour': 'offline' })).status).toBe(
      'WaitingForOfflinePayment',
    );
    expect(store.subscription('S9000001')).toMatchObject({ behaveAs: 'decline:PAY_REJ', remaining: 1 });
    expect(ok(rebill(store, 'S9000001'))).toMatchObject({
      status: 'Pending',
      paymentResult: { code: 'PAY_REJ' },
    });
  });

  it('paying a declined purchase on the checkout page cancels its scheduled retry', () => {
    const { store } = setup();
    send(store);
    ok(rebill(store, 'S9000001', { 'x-sandbox-behaviour': 'decline:PAY_CEX:retry' }));
    const paid = store.completeCheckout('cs_1');
    expect(paid).toMatchObject({
      ok: true,
      purchase: { status: 'Paid', retries: [{ outcome: 'Cancelled' }] },
    });
    expect(store.runDueRetries(new Date('2025-03-02T00:00:00.000Z')).ran).toEqual([]);
  });

  it('ExtraParameterMode decides where cart x-parameters appear', () => {
    const { store } = setup();
    const first = send(store, {
      extraParameters: { 'x-tenant': 't1' },
      extraParameterMode: 'SubscriptionOnly',
    });
    expect(first.notifications[0]?.purchase?.extraParameters).toBeUndefined();
    const renewal = rebill(store, 'S9000001', { 'x-extra': 'e' }, 'att_renewal');
    const keys = renewal.notifications[0]?.purchase?.extraParameters?.extraParameter.map((p) => [
      p.key,
      p.value,
    ]);
    expect(keys).toEqual(
      expect.arrayContaining([
        ['x-tenant', 't1'],
        ['x-extra', 'e'],
        ['x-connector-attempt', 'att_renewal'],
      ]),
    );

    send(store, { extraParameters: { 'x-tenant': 't2' }, extraParameterMode: 'PurchaseOnly' });
    expect(store.subscription('S9000002')?.extraParameters).toEqual({});
  });

  it('refunds and chargebacks produce their notifications', () => {
    const { store } = setup();
    send(store);
    const partial = store.refund('500000001', 400);
    expect(partial.ok && partial.notifications[0]).toMatchObject({
      meta: { type: 'PartialRefundNotification' },
      refund: { amount: 4, currencyId: 'USD' },
      recurringBilling: { subscriptionId: 'S9000001' },
    });
    expect(store.refund('500000001', 600)).toMatchObject({ ok: false, status: 422 });
    const chargeback = store.chargeback('500000001');
    expect(chargeback.ok && chargeback.notifications[0]).toMatchObject({
      meta: { type: 'ChargebackNotification' },
      chargeback: { amount: 5.99, currencyId: 'USD' },
    });
    expect(store.refund('500000001')).toMatchObject({ ok: false, status: 409 });

    send(store, { items: [{ productId: '200002', quantity: 1 }] });
    const full = store.refund('500000002');
    expect(full.ok && full.notifications[0]).toMatchObject({
      meta: { type: 'RefundNotification' },
      refund: { amount: 4.99 },
    });
    expect(store.purchase('500000002')?.status).toBe('Refunded');
  });

  it('reset forgets everything and restarts deterministic ids', () => {
    const { store } = setup();
    send(store);
    store.logRequest({ method: 'POST', path: '/x', status: 200 });
    store.reset();
    expect(store.ledger()).toEqual({ purchases: [], calls: 0 });
    expect(store.requests()).toEqual([]);
    expect(ok(send(store)).purchaseId).toBe('500000001');
  });
});

describe('CleverbridgeSandboxStore bulk tools (benchmarks)', () => {
  function rebillSeeded(store: CleverbridgeSandboxStore, subscriptionId: string, reference: string): void {
    const key = `att_seeded_${subscriptionId}_${(attempts += 1)}`;
    const outcome = send(
      store,
      toRebillCart({
        idempotencyKey: key,
        reference: `pay_${key}`,
        amount: Money.of(999, 'USD'),
        customer: { reference },
        externalSubscriptionId: subscriptionId,
        productId: '100001',
        extraParameters: {},
        defaultLanguageId: 'en',
        periodStart: new Date('2025-04-01T00:00:00.000Z'),
      }),
    );
    expect(ok(outcome).status).toBe('Paid');
  }

  it('seeds subscriptions without notifications and counts Paid rebills per prefix, twice-charged ones apart', () => {
    const { store } = setup();
    const ids = store.seedSubscriptions(3, 'seed-', '100001');
    expect(new Set(ids).size).toBe(3);
    expect(ids.every((id) => store.subscription(id) !== undefined)).toBe(true);
    store.seedSubscriptions(2, 'other-', '100001');
    expect(store.rebillCharges('seed-')).toEqual({ subscriptions: 3, charged: 0, chargedTwice: 0 });

    rebillSeeded(store, ids[0] ?? '', 'seed-0');
    rebillSeeded(store, ids[1] ?? '', 'seed-1');
    rebillSeeded(store, ids[1] ?? '', 'seed-1');
    expect(store.rebillCharges('seed-')).toEqual({ subscriptions: 3, charged: 2, chargedTwice: 1 });
    expect(store.rebillCharges('other-')).toEqual({ subscriptions: 2, charged: 0, chargedTwice: 0 });
  });
});
