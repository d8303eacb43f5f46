import { Clock } from '../clock/clock';
import { sandboxSettings } from '../sandbox-settings';
import { CleengSandboxApi } from './cleeng-sandbox.api';
import { CleengSandboxStore } from './cleeng-sandbox.store';
import { CleengSandboxEvent } from './cleeng-sandbox.types';
import {
  CleengResponse,
  WireOrder,
  WirePayment,
  WirePaymentDetails,
  WireSubscription,
} from './cleeng-sandbox.wire';

const config = sandboxSettings({}, 'http://localhost:3000');
const ADYEN_METHOD = 101;
const CUSTOMER = 927751142;
const HOUR_MS = 60 * 60 * 1000;

/** Time stands still unless a test moves it; starts on Jan 31 to exercise month-end clamping. */
class TestClock extends Clock {
  private current = new Date('2025-01-31T10:00:00.000Z');

  now(): Date {
    return new Date(this.current);
  }

  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

function setup(): { clock: TestClock; store: CleengSandboxStore; api: CleengSandboxApi } {
  const clock = new TestClock();
  const store = new CleengSandboxStore(config, clock);
  store.useDeterministicIds();
  return { clock, store, api: new CleengSandboxApi(store) };
}

function orderBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    customerId: String(CUSTOMER),
    offerId: 'S100000001_US',
    currency: 'USD',
    country: 'US',
    paymentMethodId: ADYEN_METHOD,
    ...overrides,
  };
}

function order(response: CleengResponse): WireOrder {
  expect(response.status).toBe(200);
  return response.body.order as WireOrder;
}

function payment(response: CleengResponse): WirePayment {
  expect(response.status).toBe(200);
  return response.body.payment as WirePayment;
}

function placeOrder(api: CleengSandboxApi, overrides: Record<string, unknown> = {}): WireOrder {
  return order(api.createOrder(orderBody(overrides)));
}

function capture(
  api: CleengSandboxApi,
  orderId: number,
  overrides: Record<string, unknown> = {},
): CleengResponse {
  return api.createPayment({
    orderId,
    status: 'captured',
    paymentOperation: 'initial-payment',
    externalPaymentId: `psp-${orderId}`,
    paymentDetails: {
      token: 'recurring-token-1',
      paymentMethodSpecificParams: {
        holderName: 'Matthew Brown',
        lastCardFourDigits: '1111',
        variant: 'visa',
      },
    },
    ...overrides,
  });
}

function refund(api: CleengSandboxApi, paid: WirePayment, amount?: number | string): CleengResponse {
  return api.updatePayment(String(paid.id), {
    status: 'refunded',
    orderId: paid.orderId,
    paymentOperation: paid.paymentOperation,
    refundedReason: 'customer request',
    ...(amount !== undefined ? { refundedAmount: amount } : {}),
    refundType: 'refund',
  });
}

describe('CleengSandboxStore: order pricing', () => {
  it('prices an offer in major units and expires the order after 24 hours', () => {
    const { api } = setup();
    const created = placeOrder(api);
    expect(created).toEqual({
      id: 100000001,
      customerId: CUSTOMER,
      offerId: 'S100000001_US',
      totalPrice: 9.99,
      currency: 'USD',
      country: 'US',
      paymentMethodId: ADYEN_METHOD,
      expirationDate: '2025-02-01T10:00:00.000Z',
      priceBreakdown: {
        offerPrice: 9.99,
        discountAmount: 0,
        taxValue: 0,
        customerServiceFee: 0,
        paymentMethodFee: 0,
      },
    });
    expect(placeOrder(api).id).toBe(100000002);
  });

  it('uses the currency exponent: JPY has no decimals, KWD three', () => {
    const { api } = setup();
    expect(placeOrder(api, { offerId: 'S100000003_JP', currency: 'JPY', country: 'JP' }).totalPrice).toBe(
      1000,
    );
    expect(placeOrder(api, { offerId: 'S100000004_KW', currency: 'KWD', country: 'KW' }).totalPrice).toBe(
      4.125,
    );
    expect(placeOrder(api, { offerId: 'S100000005_EU', currency: 'EUR', country: 'DE' }).totalPrice).toBe(
      19.9,
    );
  });

  it('applies coupons, rounding half up in minor units', () => {
    const { api } = setup();
    const free = placeOrder(api, { couponCode: 'FREE100' });
    expect(free.totalPrice).toBe(0);
    expect(free.priceBreakdown.discountAmount).toBe(9.99);
    expect(free.discount).toEqual({ type: 'coupon', couponCode: 'FREE100', percentOff: 100 });

    // 9.99 / 2 = 4.995 -> 5.00
    const half = placeOrder(api, { couponCode: 'HALF' });
    expect(half.totalPrice).toBe(5);
    expect(half.priceBreakdown.discountAmount).toBe(4.99);
    // 4.125 / 2 = 2.0625 -> 2.063
    expect(
      placeOrder(api, { offerId: 'S100000004_KW', currency: 'KWD', country: 'KW', couponCode: 'HALF' })
        .totalPrice,
    ).toBe(2.063);
    expect(
      placeOrder(api, { offerId: 'S100000003_JP', currency: 'JPY', country: 'JP', couponCode: 'HALF' })
        .totalPrice,
    ).toBe(500);
    expect(
      placeOrder(api, { offerId: 'S100000005_EU', currency: 'EUR', country: 'DE', couponCode: 'HALF' })
        .totalPrice,
    ).toBe(9.95);

    expect(api.createOrder(orderBody({ couponCode: 'NOPE' }))).toEqual({
      status: 422,
      body: { success: false, message: 'couponCode: coupon NOPE is not valid for offer S100000001_US' },
    });
  });

  it('gives a free trial on the first order only; renewals pay the offer price', () => {
    const { api, store } = setup();
    const trial = placeOrder(api, { offerId: 'S100000002_US' });
    expect(trial.totalPrice).toBe(0);
    expect(trial.priceBreakdown).toMatchObject({ offerPrice: 9.99, discountAmount: 9.99 });
    expect(trial.discount).toEqual({ type: 'trial', trialDays: 7 });

    const free = payment(
      api.createPayment({
        orderId: trial.id,
        status: 'captured',
        paymentOperation: 'initial-free-transaction',
        externalPaymentId: 'psp-zero-auth',
        paymentDetails: { token: 'tok' },
      }),
    );
    expect(free.amount).toBe(0);
    expect(store.snapshot().payments.find((p) => p.id === free.id)?.subscriptionId).toBe(400000001);

    const renewal = placeOrder(api, {
      offerId: 'S100000002_US',
      paymentOperation: 'recurring-payment',
      subscriptionId: '400000001',
    });
    expect(renewal.totalPrice).toBe(9.99);
    expect(renewal).toMatchObject({ paymentOperation: 'recurring-payment', subscriptionId: 400000001 });
    expect(renewal.discount).toBeUndefined();
    // the trial was used: buying the offer again costs the full price
    expect(placeOrder(api, { offerId: 'S100000002_US' }).totalPrice).toBe(9.99);
  });

  it('refuses unknown offers, a foreign currency and malformed bodies', () => {
    const { api } = setup();
    expect(api.createOrder(orderBody({ offerId: 'S999999999_US' }))).toEqual({
      status: 404,
      body: { success: false, message: 'Offer with id S999999999_US not found' },
    });
    expect(api.createOrder(orderBody({ currency: 'EUR' }))).toEqual({
      status: 422,
      body: { success: false, message: 'currency: offer S100000001_US is sold in USD, not EUR' },
    });
    expect(api.createOrder(orderBody({ paymentMethodId: 999 })).status).toBe(422);
    expect(api.createOrder(orderBody({ country: 'USA' })).body.message).toBe(
      'country: must be a 2-letter ISO 3166-1 code',
    );
    expect(api.createOrder(orderBody({ customerId: 'abc' })).body.message).toBe(
      'customerId: must be a positive integer',
    );
    expect(api.createOrder(orderBody({ paymentMethodId: undefined })).body.message).toBe(
      'paymentMethodId: is required',
    );
    expect(api.createOrder(orderBody({ paymentOperation: 'recurring-payment' })).body.message).toBe(
      'subscriptionId: is required on pair with paymentOperation',
    );
    expect(api.createOrder(orderBody({ totalPrice: 1 }))).toEqual({
      status: 400,
      body: { success: false, message: 'totalPrice: is not a known field' },
    });
    expect(api.createOrder([]).body.message).toBe('body: must be a JSON object');
    expect(
      api.createOrder(orderBody({ paymentOperation: 'recurring-payment', subscriptionId: 400000999 })).status,
    ).toBe(404);
  });
});

describe('CleengSandboxStore: payments', () => {
  it('requires a reason for rejected and an external id for captured payments', () => {
    const { api, store } = setup();
    const created = placeOrder(api);
    expect(
      api.createPayment({ orderId: created.id, status: 'rejected', paymentOperation: 'initial-payment' }),
    ).toEqual({
      status: 400,
      body: { success: false, message: 'rejectedReason: is required when status is rejected' },
    });
    expect(
      api.createPayment({ orderId: created.id, status: 'captured', paymentOperation: 'initial-payment' }).body
        .message,
    ).toBe('externalPaymentId: is required when status is captured');
    expect(store.snapshot().payments).toEqual([]);

    const rejected = payment(
      api.createPayment({
        orderId: created.id,
        status: 'rejected',
        paymentOperation: 'initial-payment',
        rejectedReason: 'Insufficient balance',
        paymentDetails: { token: 'declined-card' },
      }),
    );
    expect(rejected).toMatchObject({ status: 'rejected', rejectedReason: 'Insufficient balance' });
    // a declined card does not become the recurring token, and no subscription starts
    expect(rejected.paymentDetailsId).toBeNull();
    expect(store.snapshot()).toMatchObject({ paymentDetails: [], subscriptions: [] });
  });

  it('answers an unknown order with 404', () => {
    const { api } = setup();
    expect(capture(api, 100009999)).toEqual({
      status: 404,
      body: { success: false, message: 'Order with id 100009999 not found' },
    });
  });

  it('creates payment details and a subscription from a captured initial payment', () => {
    const { api, store } = setup();
    const created = placeOrder(api);
    const response = capture(api, created.id);
    expect(response.body.message).toBe('Payment created successfully');
    expect(payment(response)).toEqual({
      id: 200000001,
      orderId: created.id,
      status: 'captured',
      totalAmount: 9.99,
      amount: 9.99,
      currency: 'USD',
      customerId: CUSTOMER,
      offerId: 'S100000001_US',
      country: 'US',
      paymentMethodId: ADYEN_METHOD,
      paymentGateway: 'adyen',
      externalPaymentId: `psp-${created.id}`,
      paymentDetailsId: 300000001,
      paymentOperation: 'initial-payment',
      rejectedReason: null,
      refundedReason: null,
      refundedAmount: 0,
      refundType: null,
    });

    const state = store.snapshot();
    expect(state.paymentDetails).toEqual([
      {
        id: 300000001,
        customerId: CUSTOMER,
        token: 'recurring-token-1',
        paymentGateway: 'adyen',
        paymentMethod: 'card',
        paymentMethodSpecificParams: {
          holderName: 'Matthew Brown',
          lastCardFourDigits: '1111',
          variant: 'visa',
        },
        paymentMethodId: ADYEN_METHOD,
        active: true,
        bound: false,
        subscriptionIds: [400000001],
      },
    ]);
    expect(state.subscriptions).toEqual([
      {
        subscriptionId: 400000001,
        customerId: CUSTOMER,
        offerId: 'S100000001_US',
        status: 'active',
        paymentDetailsId: 300000001,
        nextPaymentAction: 'capture',
        inTrial: false,
        latestPaymentExternalId: `psp-${created.id}`,
        renewalCycle: { completed: 0, unit: 'month', amount: 1 },
        paymentMethodId: ADYEN_METHOD,
        paymentCountry: 'US',
        couponCode: null,
        // a month after Jan 31 is the last day of February
        dateFrom: Date.parse('2025-01-31T10:00:00.000Z') / 1000,
        dateTo: Date.parse('2025-02-28T10:00:00.000Z') / 1000,
        expiresAt: '2025-02-28T10:00:00.000Z',
        nextPaymentActionDate: Date.parse('2025-02-28T10:00:00.000Z') / 1000,
        externalProperties: {},
        isExternallyManaged: false,
        terminationType: null,
      },
    ]);
  });

  it('refuses a second capture of the same order', () => {
    const { api, store } = setup();
    const created = placeOrder(api);
    expect(capture(api, created.id).status).toBe(200);
    expect(capture(api, created.id, { externalPaymentId: 'psp-second' })).toEqual({
      status: 422,
      body: { success: false, message: `orderId: order ${created.id} is already paid by payment 200000001` },
    });
    // a rejected attempt is still recorded (it is a report, not a charge)
    expect(
      api.createPayment({
        orderId: created.id,
        status: 'rejected',
        paymentOperation: 'initial-payment',
        rejectedReason: 'late decline',
      }).status,
    ).toBe(200);
    const state = store.snapshot();
    expect(state.payments.filter((p) => p.status === 'captured')).toHaveLength(1);
    expect(state.subscriptions).toHaveLength(1);
  });

  it('allows initial-free-transaction only for zero orders and starts the trial', () => {
    const { api, store } = setup();
    const paid = placeOrder(api);
    expect(
      api.createPayment({
        orderId: paid.id,
        status: 'captured',
        paymentOperation: 'initial-free-transaction',
        externalPaymentId: 'psp-1',
      }),
    ).toEqual({
      status: 422,
      body: {
        success: false,
        message: `paymentOperation: initial-free-transaction is only allowed for orders with totalPrice 0 (order ${paid.id} costs 9.99 USD)`,
      },
    });

    const trial = placeOrder(api, { offerId: 'S100000002_US' });
    capture(api, trial.id, { paymentOperation: 'initial-free-transaction' });
    const [subscription] = store.snapshot().subscriptions;
    expect(subscription?.inTrial).toBe(true);
    expect(subscription?.expiresAt).toBe('2025-02-07T10:00:00.000Z');
  });

  it('accepts the British "authorised", stores "authorized", and creates the subscription on capture', () => {
    const { api, store } = setup();
    const created = placeOrder(api);
    const authorised = payment(capture(api, created.id, { status: 'authorised' }));
    expect(authorised.status).toBe('authorized');
    expect(authorised.subscriptionId).toBeUndefined();
    expect(store.snapshot().subscriptions).toEqual([]);

    const captured = payment(
      api.updatePayment(String(authorised.id), { status: 'captured', externalPaymentId: 'psp-capture-ref' }),
    );
    expect(captured).toMatchObject({
      status: 'captured',
      externalPaymentId: 'psp-capture-ref',
    });
    expect(store.snapshot().subscriptions).toHaveLength(1);
    expect(api.updatePayment(String(authorised.id), { status: 'captured' }).body.message).toBe(
      `status: payment ${authorised.id} cannot go from captured to captured`,
    );
  });

  it('refuses payments on an order older than 24 hours', () => {
    const { api, clock } = setup();
    const created = placeOrder(api);
    clock.advance(25 * HOUR_MS);
    const response = capture(api, created.id);
    expect(response.status).toBe(422);
    expect(response.body.message).toBe(`orderId: order ${created.id} expired at ${created.expirationDate}`);
  });

  it('extends the subscription by one period on a captured recurring payment', () => {
    const { api, store } = setup();
    capture(api, placeOrder(api).id);
    const renewalOrder = placeOrder(api, {
      paymentOperation: 'recurring-payment',
      subscriptionId: 400000001,
    });
    expect(
      api.createPayment({
        orderId: renewalOrder.id,
        status: 'captured',
        paymentOperation: 'initial-payment',
        externalPaymentId: 'x',
      }).status,
    ).toBe(422);
    const renewal = payment(
      api.createPayment({
        orderId: renewalOrder.id,
        status: 'captured',
        paymentOperation: 'recurring-payment',
        externalPaymentId: 'psp-renewal-1',
        paymentDetailsId: 300000001,
      }),
    );
    expect(store.snapshot().payments.find((p) => p.id === renewal.id)?.subscriptionId).toBe(400000001);
    const after = store.snapshot().subscriptions[0];
    expect(after?.renewalCycle.completed).toBe(1);
    expect(after?.latestPaymentExternalId).toBe('psp-renewal-1');
    // renewed from the end of the paid period (Feb 28), not from now
    expect(after?.expiresAt).toBe('2025-03-28T10:00:00.000Z');
    expect(store.snapshot().subscriptions).toHaveLength(1);
  });

  it('replays the first response for a repeated Idempotency-Key without a second effect', () => {
    const { api, store } = setup();
    const created = placeOrder(api);
    const body = {
      orderId: created.id,
      status: 'captured',
      paymentOperation: 'initial-payment',
      externalPaymentId: 'psp-1',
    };
    const first = store.idempotent('POST /payments', 'attempt-1', JSON.stringify(body), () =>
      api.createPayment(body),
    );
    const second = store.idempotent('POST /payments', 'attempt-1', JSON.stringify(body), () =>
      api.createPayment(body),
    );
    expect(first.kind).toBe('fresh');
    expect(second).toEqual({
      kind: 'replayed',
      response: first.kind === 'fresh' ? first.response : undefined,
    });
    expect(second.kind === 'replayed' && second.response.status).toBe(200);
    expect(store.snapshot().payments).toHaveLength(1);
    expect(store.snapshot().subscriptions).toHaveLength(1);

    const changed = { ...body, externalPaymentId: 'psp-2' };
    expect(
      store.idempotent('POST /payments', 'attempt-1', JSON.stringify(changed), () =>
        api.createPayment(changed),
      ),
    ).toEqual({ kind: 'conflict' });
    // without the key the same call is a real second capture, which Cleeng refuses
    expect(api.createPayment(body).status).toBe(422);
  });
});

describe('CleengSandboxStore: refunds', () => {
  it('refunds only captured money, cumulatively, never more than was paid', () => {
    const { api } = setup();
    const paid = payment(capture(api, placeOrder(api).id));

    expect(refund(api, paid, 10)).toEqual({
      status: 422,
      body: {
        success: false,
        message: `refundedAmount: 10.00 exceeds the refundable 9.99 USD of payment ${paid.id}`,
      },
    });
    expect(refund(api, paid, 9.999).body.message).toBe(
      'refundedAmount: "9.999" has more decimals than USD allows (2)',
    );

    const partial = payment(refund(api, paid, 5));
    expect(partial).toMatchObject({
      status: 'refunded',
      refundedAmount: 5,
      refundedReason: 'customer request',
    });
    expect(refund(api, paid, '5.00').body.message).toBe(
      `refundedAmount: 5.00 exceeds the refundable 4.99 USD of payment ${paid.id}`,
    );
    expect(payment(refund(api, paid, '4.99')).refundedAmount).toBe(9.99);
    expect(refund(api, paid, 0.01)).toEqual({
      status: 422,
      body: { success: false, message: `Payment with id ${paid.id} has nothing left to refund` },
    });
  });

  it('refunds the whole remaining amount when no refundedAmount is given', () => {
    const { api } = setup();
    const paid = payment(
      capture(api, placeOrder(api, { offerId: 'S100000004_KW', currency: 'KWD', country: 'KW' }).id),
    );
    expect(payment(refund(api, paid, '1.125')).refundedAmount).toBe(1.125);
    expect(payment(refund(api, paid)).refundedAmount).toBe(4.125);
  });

  it('refuses refunds of payments that were never captured and requires the refund fields', () => {
    const { api } = setup();
    const authorised = payment(capture(api, placeOrder(api).id, { status: 'authorized' }));
    expect(refund(api, authorised, 1)).toEqual({
      status: 422,
      body: {
        success: false,
        message: `status: payment ${authorised.id} cannot go from authorized to refunded`,
      },
    });
    expect(
      api.updatePayment(String(authorised.id), { status: 'refunded', orderId: authorised.orderId }).body
        .message,
    ).toBe('paymentOperation: is required');
    expect(
      api.updatePayment(String(authorised.id), { status: 'captured', refundedAmount: 1 }).body.message,
    ).toBe('refundedAmount: is only available when status is refunded');
    expect(
      api.updatePayment(String(authorised.id), {
        status: 'refunded',
        orderId: (authorised.orderId ?? 0) + 1,
        paymentOperation: 'initial-payment',
        refundedReason: 'x',
      }).body.message,
    ).toBe(`orderId: payment ${authorised.id} belongs to order ${authorised.orderId}`);
    expect(api.updatePayment('200009999', { status: 'captured' }).status).toBe(404);
    expect(api.updatePayment('abc', { status: 'captured' }).status).toBe(404);
  });
});

describe('CleengSandboxStore: payment details and authorised payments', () => {
  function createDetails(api: CleengSandboxApi, token: string): WirePaymentDetails {
    const response = api.createPaymentDetails({ customerId: CUSTOMER, token, paymentMethodId: ADYEN_METHOD });
    expect(response.status).toBe(200);
    return response.body.data as WirePaymentDetails;
  }

  it('creates payment details in the Cleeng shape', () => {
    const { api } = setup();
    const response = api.createPaymentDetails({
      customerId: String(CUSTOMER),
      token: 'tok-1',
      paymentMethodId: 102,
      paymentMethodSpecificParams: { variant: 'mc' },
    });
    expect(response).toEqual({
      status: 200,
      body: {
        success: true,
        message: 'Payment details created successfully',
        data: {
          id: 300000001,
          customerId: CUSTOMER,
          token: 'tok-1',
          paymentGateway: 'smart-glocal',
          paymentMethod: 'card',
          paymentMethodSpecificParams: { variant: 'mc' },
          paymentMethodId: 102,
          active: true,
          bound: false,
          subscriptionIds: [],
        },
      },
    });
    expect(
      api.createPaymentDetails({ customerId: CUSTOMER, token: 'x', paymentMethodId: 101, active: 'yes' }).body
        .message,
    ).toBe('active: must be a boolean');
  });

  it('lists only the authorized payments made with the given details', () => {
    const { api } = setup();
    const details = createDetails(api, 'tok-1');
    const authorised = payment(
      api.createPayment({
        orderId: placeOrder(api).id,
        status: 'authorized',
        paymentOperation: 'initial-payment',
        externalPaymentId: 'psp-auth',
        paymentDetailsId: details.id,
      }),
    );
    // captured with the same details, and authorised with other details: both not listed
    capture(api, placeOrder(api).id, { paymentDetails: undefined, paymentDetailsId: details.id });
    const otherDetails = createDetails(api, 'tok-2');
    capture(api, placeOrder(api).id, {
      status: 'authorized',
      paymentDetails: undefined,
      paymentDetailsId: otherDetails.id,
    });

    const listed = api.authorisedPayments(String(details.id));
    expect(listed.status).toBe(200);
    expect((listed.body.data as WirePayment[]).map((p) => p.id)).toEqual([authorised.id]);

    expect(payment(api.cancelPayment(String(authorised.id))).status).toBe('cancelled');
    expect(api.authorisedPayments(String(details.id)).body.data).toEqual([]);
    expect(api.cancelPayment(String(authorised.id)).body.message).toBe(
      `status: payment ${authorised.id} cannot go from cancelled to cancelled`,
    );
    expect(api.authorisedPayments('300009999')).toEqual({
      status: 404,
      body: { success: false, message: 'Payment details with id 300009999 not found' },
    });
  });

  it('deactivates the previous details when new active ones arrive and moves the subscriptions', () => {
    const { api, store } = setup();
    const events: CleengSandboxEvent[] = [];
    store.onEvent((event) => events.push(event));
    capture(api, placeOrder(api).id);
    const replacement = createDetails(api, 'tok-new');
    expect(events).toEqual([
      {
        type: 'paymentDetailsDeactivated',
        paymentDetailsId: 300000001,
        customerId: CUSTOMER,
        paymentMethodId: 101,
      },
    ]);
    const state = store.snapshot();
    expect(state.paymentDetails.map((d) => [d.id, d.active])).toEqual([
      [300000001, false],
      [replacement.id, true],
    ]);
    expect(state.subscriptions[0]?.paymentDetailsId).toBe(replacement.id);
  });

  it('deletes payment details', () => {
    const { api, store } = setup();
    capture(api, placeOrder(api).id);
    expect(api.deletePaymentDetails('300000001')).toEqual({ status: 200, body: { success: true } });
    expect(store.snapshot().paymentDetails).toEqual([]);
    expect(store.snapshot().subscriptions[0]?.paymentDetailsId).toBeNull();
    expect(api.deletePaymentDetails('300000001').status).toBe(404);
  });
});

describe('CleengSandboxStore: subscriptions', () => {
  function subscribed(): { api: CleengSandboxApi; store: CleengSandboxStore } {
    const { api, store } = setup();
    capture(api, placeOrder(api).id);
    return { api, store };
  }

  it('stops, resumes and terminates through PATCH', () => {
    const { api } = subscribed();
    const stopped = api.updateSubscription('400000001', { status: 'stopped' });
    expect(stopped.status).toBe(200);
    expect((stopped.body.subscription as WireSubscription).status).toBe('stopped');
    expect(
      (api.updateSubscription('400000001', { status: 'active' }).body.subscription as WireSubscription)
        .status,
    ).toBe('active');
    expect(
      (api.updateSubscription('400000001', { status: 'terminated' }).body.subscription as WireSubscription)
        .status,
    ).toBe('terminated');
    expect(api.updateSubscription('400000001', { status: 'active' })).toEqual({
      status: 422,
      body: {
        success: false,
        subscription: null,
        message: 'Subscription with id 400000001 is terminated and cannot be changed',
      },
    });
  });

  it('terminates with a termination type and refuses a second termination', () => {
    const { api } = subscribed();
    const terminated = api.terminateSubscription('400000001', { terminationType: 'paymentCancel' });
    expect(terminated.body).toMatchObject({
      success: true,
      subscription: { subscriptionId: 400000001, status: 'terminated', terminationType: 'paymentCancel' },
    });
    expect(api.terminateSubscription('400000001', { terminationType: 'paymentCancel' }).status).toBe(422);
    expect(api.terminateSubscription('400000001', {}).body.message).toBe('terminationType: is required');
    // a renewal of a terminated subscription cannot even be ordered
    expect(
      api.createOrder(orderBody({ paymentOperation: 'recurring-payment', subscriptionId: 400000001 })).status,
    ).toBe(422);
  });

  it('answers an unknown subscription in the Cleeng shape', () => {
    const { api } = subscribed();
    expect(api.updateSubscription('400009999', { status: 'terminated' })).toEqual({
      status: 404,
      body: { success: false, subscription: null, message: 'Subscription with id 400009999 does not exists' },
    });
    expect(api.terminateSubscription('400009999', { terminationType: 'userCancel' }).status).toBe(404);
  });

  it('takes exactly one change per PATCH', () => {
    const { api } = subscribed();
    expect(api.updateSubscription('400000001', { status: 'stopped', inTrial: false })).toEqual({
      status: 400,
      body: {
        success: false,
        subscription: null,
        message:
          'body: exactly one of status, paymentDetailsId, expiresAt, inTrial, couponCode, externalProperties must be sent',
      },
    });
    const moved = api.updateSubscription('400000001', { expiresAt: 1893456000 });
    expect((moved.body.subscription as WireSubscription).expiresAt).toBe('2030-01-01T00:00:00.000Z');
  });

  it('reports renewals that are due and follows the dunning setting', () => {
    const { store, api } = subscribed();
    expect(store.subscriptionsDue(store.now())).toEqual([]);
    const inFortyDays = new Date(store.now().getTime() + 40 * 24 * HOUR_MS);
    expect(store.subscriptionsDue(inFortyDays).map((s) => s.subscriptionId)).toEqual([400000001]);
    store.setDunning({ authoriseFirst: true });
    expect(store.snapshot().subscriptions[0]?.nextPaymentAction).toBe('authorise');
    api.updateSubscription('400000001', { status: 'stopped' });
    expect(store.subscriptionsDue(inFortyDays)).toEqual([]);
  });

  it('starts from empty state after reset, never reissuing an id the connector may hold', () => {
    const { api, store } = subscribed();
    store.logRequest({ method: 'POST', path: '/x', status: 200 });
    store.reset();
    expect(store.snapshot()).toEqual({ orders: [], payments: [], paymentDetails: [], subscriptions: [] });
    expect(store.requests()).toEqual([]);
    expect(placeOrder(api).id).toBeGreaterThan(100000001);
  });
});

describe('CleengSandboxStore: externally managed payments', () => {
  const CLEVERBRIDGE_METHOD = 104;
  function ems(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      customerId: CUSTOMER,
      status: 'captured',
      offerId: 'S100000001_US',
      paymentMethodId: CLEVERBRIDGE_METHOD,
      netAmount: 9.99,
      taxAmount: 0,
      currency: 'USD',
      externalPaymentId: 'P-1',
      ...overrides,
    };
  }
  function list(api: CleengSandboxApi, query: Record<string, unknown>): WireSubscription[] {
    const res = api.listSubscriptions(query);
    expect(res.status).toBe(200);
    return res.body.data as WireSubscription[];
  }

  it('a captured payment without subscriptionId creates an externally managed subscription, found by listing', () => {
    const { api, store, clock } = setup();
    const created = payment(api.createPayment(ems()));
    expect(created).toMatchObject({ orderId: null, status: 'captured', paymentOperation: 'initial-payment' });
    expect(created).not.toHaveProperty('subscriptionId'); // PaymentResource does not name it
    const [subscription] = list(api, { customerId: String(CUSTOMER), offerId: 'S100000001_US' });
    expect(subscription).toMatchObject({
      customerId: CUSTOMER,
      offerId: 'S100000001_US',
      status: 'active',
      isExternallyManaged: true,
      latestPaymentExternalId: 'P-1',
      paymentMethodId: CLEVERBRIDGE_METHOD,
    });
    // its schedule runs elsewhere: Cleeng never bills it
    clock.advance(40 * 24 * HOUR_MS);
    expect(store.subscriptionsDue(clock.now())).toEqual([]);

    const renewal = payment(
      api.createPayment(ems({ externalPaymentId: 'P-2', subscriptionId: subscription?.subscriptionId })),
    );
    expect(renewal.paymentOperation).toBe('recurring-payment');
    const [renewed] = list(api, { customerId: String(CUSTOMER) });
    expect(renewed).toMatchObject({ latestPaymentExternalId: 'P-2', renewalCycle: { completed: 1 } });
    expect(renewed?.dateTo).toBeGreaterThan(subscription?.dateTo ?? Infinity);
  });

  it('a rejected payment creates nothing; an unknown or foreign subscription is refused', () => {
    const { api } = setup();
    payment(api.createPayment(ems({ status: 'rejected', rejectedReason: 'PAY_DEC: declined' })));
    expect(list(api, { customerId: String(CUSTOMER) })).toEqual([]);
    expect(api.createPayment(ems({ subscriptionId: 912345678 })).status).toBe(404);
    payment(api.createPayment(ems()));
    const [mine] = list(api, { customerId: String(CUSTOMER) });
    const foreign = api.createPayment(ems({ customerId: 316720888, subscriptionId: mine?.subscriptionId }));
    expect(foreign.status).toBe(422);
    expect(api.createPayment(ems({ offerId: 'S199999999_US' })).status).toBe(404);
    expect(api.createPayment(ems({ currency: 'EUR' })).status).toBe(422);
  });

  it('is refunded and charged back without an order; a payment of an order still needs its orderId', () => {
    const { api } = setup();
    const paid = payment(api.createPayment(ems()));
    const body = { status: 'refunded', paymentOperation: 'initial-payment', refundedReason: 'r' };
    expect(api.updatePayment(String(paid.id), { ...body, orderId: 123 }).status).toBe(422);
    expect(
      payment(api.updatePayment(String(paid.id), { ...body, refundedAmount: 3, refundType: 'refund' })),
    ).toMatchObject({ status: 'refunded', refundedAmount: 3, refundType: 'refund' });
    expect(payment(api.updatePayment(String(paid.id), { ...body, refundType: 'chargeback' }))).toMatchObject({
      refundedAmount: 9.99,
      refundType: 'chargeback',
    });

    const ordered = payment(capture(api, placeOrder(api).id));
    expect(api.updatePayment(String(ordered.id), body)).toMatchObject({
      status: 400,
      body: { message: 'orderId: is required when status is refunded' },
    });
  });

  it('lists with Cleeng filters and refuses malformed ones', () => {
    const { api } = setup();
    payment(api.createPayment(ems()));
    expect(list(api, { customerId: String(CUSTOMER), status: ['terminated'] })).toEqual([]);
    expect(list(api, { customerId: String(CUSTOMER), externalId: 'x' })).toEqual([]);
    expect(list(api, { limit: '1' })).toHaveLength(1);
    expect(api.listSubscriptions({ offerId: 'S100000001_US' }).status).toBe(400);
    expect(api.listSubscriptions({ limit: '101' }).status).toBe(400);
    expect(api.listSubscriptions({ surprise: '1' }).status).toBe(400);
  });
});
