import { Money } from '../../common/money/money';
import {
  GatewayOutcomeUnknownError,
  GatewayRequestRejectedError,
  GatewayUnavailableError,
} from '../gateway.errors';
import { ProcessCartInput, RebillInput } from '../gateway.provider';
import { WebhookMalformedError, WebhookUnauthenticatedError } from '../../inbox/webhook.errors';
import { CleverbridgeValidationError } from './cleverbridge.errors';
import {
  CLEVERBRIDGE_DECLINE_CODES,
  CUSTOMER_ACTION_URL_TTL_MS,
  errorForStatus,
  fromProcessCartResponse,
  fromPurchaseList,
  mapPaymentError,
  parseNotification,
  toProcessCartRequest,
  toRebillCart,
  validateExtraParameters,
  validateProcessCartInput,
  verifyBasicAuth,
} from './cleverbridge.mapper';
import { CleverbridgeProcessCartResponse } from './cleverbridge.types';

const NOW = new Date('2025-03-01T12:00:00.000Z');
const IN_72H = new Date(NOW.getTime() + 72 * 60 * 60 * 1000);

function cart(overrides: Partial<ProcessCartInput> = {}): ProcessCartInput {
  return {
    idempotencyKey: 'att_1',
    reference: 'pay_1',
    customer: { customerReferenceId: 'cust-42' },
    items: [{ productId: '100001', quantity: 1 }],
    mode: 'interactive',
    ...overrides,
  };
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('toProcessCartRequest', () => {
  it('builds the seed envelope with items, x-parameters on cart and items, modes and defaults', () => {
    const body = toProcessCartRequest(
      cart({
        items: [
          {
            productId: '100001',
            quantity: 2,
            additionalName: 'Seat licence',
            dynamicName: 'Pro (promo)',
            dynamicPrice: Money.of(999, 'USD'),
            extraParameters: { 'x-seat': 'a' },
          },
          { productId: '200001', quantity: 1 },
        ],
        extraParameters: { 'x-campaign': 'spring' },
        extraParameterMode: 'PurchaseOnly',
        defaultCountryId: 'US',
        defaultLanguageId: 'en',
      }),
    );
    expect(body).toEqual({
      processCartRequest: {
        cart: {
          items: [
            {
              productId: '100001',
              quantity: 2,
              additionalName: 'Seat licence',
              dynamicProductName: 'Pro (promo)',
              dynamicPrice: { amount: 9.99, currencyId: 'USD' },
              extraParameters: { extraParameter: [{ key: 'x-seat', value: 'a' }] },
            },
            { productId: '200001', quantity: 1 },
          ],
          customerReferenceId: 'cust-42',
        },
        defaultCountryId: 'US',
        defaultLanguageId: 'en',
        extraParameters: {
          extraParameter: [
            { key: 'x-campaign', value: 'spring' },
            { key: 'x-connector-attempt', value: 'att_1' },
            { key: 'x-connector-reference', value: 'pay_1' },
          ],
        },
        extraParameterMode: 'PurchaseOnly',
        processCartMode: 'Interactive',
      },
    });
  });

  it('puts LogonPurchaseId in the cart and never sends a subscription for it', () => {
    const { processCartRequest } = toProcessCartRequest(
      cart({ customer: { logonPurchaseId: '166412284' }, mode: 'non-interactive' }),
    );
    expect(processCartRequest.cart).toEqual({
      items: [{ productId: '100001', quantity: 1 }],
      logonPurchaseId: '166412284',
    });
    expect(processCartRequest.subscription).toBeUndefined();
    expect(processCartRequest.processCartMode).toBe('NonInteractive');
  });

  it('identifies by subscription with processCartRequest.subscription (seed) and nothing in the cart', () => {
    const { processCartRequest } = toProcessCartRequest(cart({ customer: { subscriptionId: 'S9073119' } }));
    expect(processCartRequest.subscription).toEqual({ subscriptionId: 'S9073119' });
    expect(processCartRequest.cart).toEqual({ items: [{ productId: '100001', quantity: 1 }] });
  });

  it('sends major units by the currency exponent', () => {
    const amounts = (['JPY', 'KWD', 'EUR'] as const).map(
      (currency) =>
        toProcessCartRequest(
          cart({
            items: [
              {
                productId: '1',
                quantity: 1,
                dynamicPrice: Money.of(currency === 'KWD' ? 12345 : 1000, currency),
              },
            ],
          }),
        ).processCartRequest.cart.items[0]?.dynamicPrice,
    );
    expect(amounts).toEqual([
      { amount: 1000, currencyId: 'JPY' },
      { amount: 12.345, currencyId: 'KWD' },
      { amount: 10, currencyId: 'EUR' },
    ]);
  });

  it('replaces a caller-supplied attempt marker with the idempotency key', () => {
    const { processCartRequest } = toProcessCartRequest(
      cart({ extraParameters: { 'x-connector-attempt': 'forged' } }),
    );
    expect(processCartRequest.extraParameters?.extraParameter).toEqual([
      { key: 'x-connector-attempt', value: 'att_1' },
      { key: 'x-connector-reference', value: 'pay_1' },
    ]);
  });
});

describe('x-parameter and cart validation', () => {
  it('validateExtraParameters names every bad key and bad value', () => {
    expect(validateExtraParameters(undefined)).toEqual([]);
    expect(validateExtraParameters({ 'x-ok': '1', 'x-also_ok.2': 'v' })).toEqual([]);
    expect(validateExtraParameters({ customerid: '1', 'X-upper': '2', 'x-': '3', 'x-fine': '4' })).toEqual([
      'extraParameters: keys must start with "x-" followed by letters, digits, "-", "_" or "." (bad: "customerid", "X-upper", "x-")',
    ]);
    expect(validateExtraParameters({ 'x-n': 5 }, 'items[0].extraParameters')).toEqual([
      'items[0].extraParameters: values must be strings (bad: "x-n")',
    ]);
    expect(validateExtraParameters({ 'x-long': 'a'.repeat(1001) })).toEqual([
      'extraParameters: values must be at most 1000 characters (bad: "x-long")',
    ]);
    expect(validateExtraParameters(['x-a'])).toEqual([
      'extraParameters must be an object of "x-..." keys to string values',
    ]);
  });

  it('throws a typed 400 error listing bad keys on the cart and on items before anything is sent', () => {
    const err = thrown(() =>
      toProcessCartRequest(
        cart({
          extraParameters: { campaign: 'spring' },
          items: [{ productId: '100001', quantity: 1, extraParameters: { seat: 'a' } }],
        }),
      ),
    );
    expect(err).toBeInstanceOf(CleverbridgeValidationError);
    const validation = err as CleverbridgeValidationError;
    expect(validation.code).toBe('VALIDATION_FAILED');
    expect(validation.fieldErrors).toEqual([
      {
        field: 'items[0].extraParameters',
        messages: [
          'extraParameters: keys must start with "x-" followed by letters, digits, "-", "_" or "." (bad: "seat")',
        ],
      },
      {
        field: 'extraParameters',
        messages: [
          'extraParameters: keys must start with "x-" followed by letters, digits, "-", "_" or "." (bad: "campaign")',
        ],
      },
    ]);
    expect(validation.message).toContain('"campaign"');
  });

  it('refuses empty carts, bad quantities, two customer ids, mixed currencies and bad locale ids', () => {
    const errors = validateProcessCartInput(
      cart({
        customer: {
          customerReferenceId: 'c',
          logonPurchaseId: '1',
        } as unknown as ProcessCartInput['customer'],
        items: [
          { productId: ' ', quantity: 0, dynamicPrice: Money.of(100, 'USD') },
          { productId: '2', quantity: 1.5, dynamicPrice: Money.of(100, 'EUR') },
        ],
        defaultCountryId: 'usa',
        defaultLanguageId: 'EN',
      }),
    );
    expect(errors.map((e) => e.field)).toEqual([
      'customer',
      'items[0].productId',
      'items[0].quantity',
      'items[1].quantity',
      'items',
      'defaultCountryId',
      'defaultLanguageId',
    ]);
    expect(validateProcessCartInput(cart({ items: [] }))).toEqual([
      { field: 'items', messages: ['at least one item is required'] },
    ]);
  });
});

describe('toRebillCart', () => {
  const rebill: RebillInput = {
    idempotencyKey: 'att_r1',
    reference: 'pay_r1',
    amount: Money.of(1998, 'EUR'),
    customer: { reference: 'cust-42', country: 'DE' },
    externalSubscriptionId: 'S9073119',
    productId: '100001',
    quantity: 2,
    extraParameters: { 'x-plan': 'pro' },
    periodStart: new Date('2025-04-01T00:00:00.000Z'),
  };

  it('charges the existing subscription non-interactively with the period price and attempt markers', () => {
    expect(toProcessCartRequest(toRebillCart(rebill))).toEqual({
      processCartRequest: {
        cart: {
          items: [{ productId: '100001', quantity: 2, dynamicPrice: { amount: 9.99, currencyId: 'EUR' } }],
        },
        defaultCountryId: 'DE',
        extraParameters: {
          extraParameter: [
            { key: 'x-plan', value: 'pro' },
            { key: 'x-connector-period', value: '2025-04-01' },
            { key: 'x-connector-attempt', value: 'att_r1' },
            { key: 'x-connector-reference', value: 'pay_r1' },
          ],
        },
        processCartMode: 'NonInteractive',
        subscription: { subscriptionId: 'S9073119' },
      },
    });
  });

  it("carries the subscription's default language id (the seed's four things a rebill must contain)", () => {
    const body = toProcessCartRequest(toRebillCart({ ...rebill, defaultLanguageId: 'de' }));
    expect(body.processCartRequest).toMatchObject({
      defaultLanguageId: 'de',
      subscription: { subscriptionId: 'S9073119' },
      cart: { items: [{ productId: '100001', quantity: 2 }] },
    });
  });

  it('never rebills without the subscription id (Cleverbridge would open a new subscription)', () => {
    const err = thrown(() =>
      toRebillCart({ ...rebill, externalSubscriptionId: undefined, productId: undefined }),
    );
    expect(err).toBeInstanceOf(CleverbridgeValidationError);
    expect((err as CleverbridgeValidationError).fieldErrors.map((e) => e.field)).toEqual([
      'externalSubscriptionId',
      'productId',
    ]);
  });

  it('refuses an amount that cannot be split evenly over the quantity', () => {
    const err = thrown(() => toRebillCart({ ...rebill, amount: Money.of(1999, 'EUR') }));
    expect((err as CleverbridgeValidationError).fieldErrors).toEqual([
      { field: 'amount', messages: ['1999 minor units cannot be split evenly over quantity 2'] },
    ]);
    expect(toRebillCart({ ...rebill, quantity: undefined }).items).toEqual([
      { productId: '100001', quantity: 1, dynamicPrice: Money.of(1998, 'EUR') },
    ]);
  });
});

describe('fromProcessCartResponse', () => {
  const interactive = { mode: 'interactive' as const, now: NOW };
  const nonInteractive = { mode: 'non-interactive' as const, now: NOW };

  it('Paid -> captured with the purchase id (and a new subscription id in state)', () => {
    expect(
      fromProcessCartResponse(
        {
          status: 'Paid',
          purchaseId: '500000001',
          subscriptionId: 'S9000001',
          isPaymentRetryScheduled: false,
        },
        interactive,
      ),
    ).toEqual({ status: 'captured', externalPaymentId: '500000001', state: { subscriptionId: 'S9000001' } });
    expect(fromProcessCartResponse({ status: 'Paid', purchaseId: '7' }, nonInteractive)).toEqual({
      status: 'captured',
      externalPaymentId: '7',
    });
  });

  it('WaitingForOfflinePayment -> pending', () => {
    expect(
      fromProcessCartResponse({ status: 'WaitingForOfflinePayment', purchaseId: '8' }, interactive),
    ).toEqual({
      status: 'pending',
      externalPaymentId: '8',
    });
  });

  it('CustomerActionNeeded (interactive) -> hosted action valid 72 h, no decline without a code', () => {
    expect(
      fromProcessCartResponse(
        { status: 'CustomerActionNeeded', url: 'https://cb/checkout/s1', isPaymentRetryScheduled: false },
        interactive,
      ),
    ).toEqual({
      status: 'action_required',
      action: { type: 'hosted', url: 'https://cb/checkout/s1' },
      actionExpiresAt: IN_72H,
      retryScheduled: false,
    });
    expect(CUSTOMER_ACTION_URL_TTL_MS).toBe(259_200_000);
  });

  it('Pending (interactive) -> action_required with the normalised decline and retryScheduled', () => {
    expect(
      fromProcessCartResponse(
        {
          status: 'Pending',
          purchaseId: '9',
          url: 'https://cb/checkout/p9',
          paymentResult: { code: 'PAY_CLE', message: 'Credit card limit exceeded' },
          isPaymentRetryScheduled: true,
        },
        interactive,
      ),
    ).toEqual({
      status: 'action_required',
      externalPaymentId: '9',
      action: { type: 'hosted', url: 'https://cb/checkout/p9' },
      actionExpiresAt: IN_72H,
      decline: {
        code: 'PAY_CLE',
        class: 'soft',
        reason: 'Card limit exceeded',
        rawCode: 'PAY_CLE',
        rawReason: 'Credit card limit exceeded',
      },
      retryScheduled: true,
    });
  });

  it('Pending (non-interactive) -> rejected with decline, retryScheduled and the URL kept for dunning', () => {
    expect(
      fromProcessCartResponse(
        {
          status: 'Pending',
          purchaseId: '10',
          url: 'https://cb/checkout/p10',
          paymentResult: { code: 'CCA_EXP' },
          isPaymentRetryScheduled: true,
        },
        nonInteractive,
      ),
    ).toEqual({
      status: 'rejected',
      externalPaymentId: '10',
      decline: {
        code: 'CCA_EXP',
        class: 'hard',
        reason: 'Card expired and cannot be updated',
        rawCode: 'CCA_EXP',
      },
      retryScheduled: true,
      action: { type: 'hosted', url: 'https://cb/checkout/p10' },
      actionExpiresAt: IN_72H,
    });
  });

  it('declines without a code: PAY_DEC with the status as raw code (non-interactive, or no URL)', () => {
    expect(
      fromProcessCartResponse({ status: 'CustomerActionNeeded', purchaseId: '11' }, nonInteractive),
    ).toEqual({
      status: 'rejected',
      externalPaymentId: '11',
      decline: {
        code: 'PAY_DEC',
        class: 'soft',
        reason: 'Payment declined',
        rawCode: 'CustomerActionNeeded',
      },
      retryScheduled: false,
    });
    expect(fromProcessCartResponse({ status: 'Pending', purchaseId: '12' }, interactive)).toMatchObject({
      status: 'rejected',
      decline: { code: 'PAY_DEC', rawCode: 'Pending' },
    });
  });

  it.each([
    ['PAY_CEX', 'PAY_CEX', 'hard'],
    ['PAY_CLE', 'PAY_CLE', 'soft'],
    ['PAY_DEC', 'PAY_DEC', 'soft'],
    ['PAY_REJ', 'PAY_REJ', 'hard'],
    ['FRA_REJ', 'FRA_REJ', 'hard'],
    ['PAY_SCO', 'PAY_SCO', 'hard'],
    ['CCA_EXP', 'CCA_EXP', 'hard'],
    ['XYZ_999', 'PAY_DEC', 'soft'],
    ['toString', 'PAY_DEC', 'soft'],
  ])('payment error %s -> %s (%s), raw code kept', (raw, code, cls) => {
    for (const retry of [true, false]) {
      const res: CleverbridgeProcessCartResponse = {
        status: 'Pending',
        purchaseId: 'p',
        paymentResult: { code: raw, message: 'm' },
        isPaymentRetryScheduled: retry,
      };
      expect(fromProcessCartResponse(res, nonInteractive)).toMatchObject({
        status: 'rejected',
        decline: { code, class: cls, rawCode: raw, rawReason: 'm' },
        retryScheduled: retry,
      });
    }
    expect(mapPaymentError({ code: raw })).toMatchObject({ code, rawCode: raw });
  });

  it('maps exactly the seven Cleverbridge codes to themselves', () => {
    expect(Object.entries(CLEVERBRIDGE_DECLINE_CODES)).toEqual(
      ['PAY_CEX', 'PAY_CLE', 'PAY_DEC', 'PAY_REJ', 'FRA_REJ', 'PAY_SCO', 'CCA_EXP'].map((c) => [c, c]),
    );
  });

  it("reads the seed's `error` object when `paymentResult` is absent", () => {
    expect(
      fromProcessCartResponse(
        { status: 'Pending', purchaseId: 'p', error: { code: 'FRA_REJ', message: 'Rejected for fraud' } },
        nonInteractive,
      ).decline,
    ).toMatchObject({ code: 'FRA_REJ', rawReason: 'Rejected for fraud' });
  });

  it('an unknown 200 status is an unknown outcome, never a decline', () => {
    expect(() =>
      fromProcessCartResponse(
        { status: 'Refunded' } as unknown as CleverbridgeProcessCartResponse,
        interactive,
      ),
    ).toThrow(GatewayOutcomeUnknownError);
    expect(() =>
      fromProcessCartResponse(undefined as unknown as CleverbridgeProcessCartResponse, interactive),
    ).toThrow(GatewayOutcomeUnknownError);
  });
});

describe('errorForStatus', () => {
  it('400 InvalidRequest -> GatewayRequestRejectedError with the Cleverbridge code', () => {
    const err = errorForStatus(400, {
      status: 'InvalidRequest',
      error: { code: 'SUBSCRIPTION_NOT_FOUND', message: 'subscription S1 not found' },
    });
    expect(err).toBeInstanceOf(GatewayRequestRejectedError);
    expect(err).toMatchObject({
      gateway: 'cleverbridge',
      httpStatus: 400,
      gatewayCode: 'SUBSCRIPTION_NOT_FOUND',
      message:
        'Cleverbridge /cart/processcart answered 400 SUBSCRIPTION_NOT_FOUND: subscription S1 not found',
    });
    expect(errorForStatus(401, { status: 'Unauthorized' })).toBeInstanceOf(GatewayRequestRejectedError);
  });

  it('500 InternalServerError (and 503, 429) -> GatewayUnavailableError, outcome open', () => {
    for (const status of [500, 503, 429]) {
      const err = errorForStatus(status, { status: 'InternalServerError' });
      expect(err).toBeInstanceOf(GatewayUnavailableError);
      expect(err).toMatchObject({ notProcessed: false, httpStatus: status });
    }
    expect(errorForStatus(502, '<html>bad gateway</html>').message).toBe(
      'Cleverbridge /cart/processcart answered 502: <html>bad gateway</html>',
    );
  });
});

const CREDENTIALS = { username: 'notify-user', password: 'notify-pass' };
const basic = (user: string, pass: string): string =>
  `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('verifyBasicAuth', () => {
  it('accepts the configured credentials, in any header case', () => {
    expect(() =>
      verifyBasicAuth({ authorization: basic('notify-user', 'notify-pass') }, CREDENTIALS),
    ).not.toThrow();
    expect(() =>
      verifyBasicAuth({ Authorization: basic('notify-user', 'notify-pass') }, CREDENTIALS),
    ).not.toThrow();
  });

  it.each([
    ['missing', {}],
    ['not Basic', { authorization: 'Bearer x' }],
    ['wrong user', { authorization: basic('someone', 'notify-pass') }],
    ['wrong password', { authorization: basic('notify-user', 'nope') }],
    ['no colon', { authorization: `Basic ${Buffer.from('notify-user').toString('base64')}` }],
  ])('refuses %s', (_case, headers: Record<string, string>) => {
    expect(() => verifyBasicAuth(headers, CREDENTIALS)).toThrow(WebhookUnauthenticatedError);
  });

  it('refuses everything when no credentials are configured', () => {
    expect(() => verifyBasicAuth({ authorization: basic('', '') }, { username: '', password: '' })).toThrow(
      WebhookUnauthenticatedError,
    );
  });
});

function body(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

const PAID = {
  meta: { type: 'PaidOrderNotification', id: 'N1', createdAt: '2025-03-01T12:00:00.000Z' },
  purchase: {
    id: '500000001',
    status: 'Paid',
    currencyId: 'USD',
    totalGross: 9.99,
    items: [
      {
        productId: '100001',
        quantity: 1,
        totalGross: 9.99,
        recurringBilling: { subscriptionId: 'S9000001' },
      },
    ],
    extraParameters: {
      extraParameter: [
        { key: 'x-connector-attempt', value: 'att_1' },
        { key: 'x-connector-reference', value: 'pay_1' },
        { key: 'x-campaign', value: 'spring' },
      ],
    },
  },
  recurringBilling: { subscriptionId: 'S9000001', status: 'HandledByClient' },
};

describe('parseNotification', () => {
  it('PaidOrderNotification -> payment.paid with purchase, subscription, amount and our markers', () => {
    expect(parseNotification(body(PAID))).toEqual([
      {
        type: 'payment.paid',
        rawType: 'PaidOrderNotification',
        eventKey: 'PaidOrderNotification:500000001',
        externalPaymentId: '500000001',
        externalSubscriptionId: 'S9000001',
        amount: { value: 999, currency: 'USD' },
        extraParameters: {
          'x-connector-attempt': 'att_1',
          'x-connector-reference': 'pay_1',
          'x-campaign': 'spring',
        },
        attemptKey: 'att_1',
        paymentReference: 'pay_1',
        reference: 'pay_1',
        occurredAt: '2025-03-01T12:00:00.000Z',
      },
    ]);
  });

  it('finds the subscription id on an item when there is none at the top, and numeric ids', () => {
    const { recurringBilling: _top, ...rest } = PAID;
    const [event] = parseNotification(body({ ...rest, purchase: { ...rest.purchase, id: 500000001 } }));
    expect(event).toMatchObject({ externalPaymentId: '500000001', externalSubscriptionId: 'S9000001' });
  });

  it('dedupes paid notifications on the purchase even when Cleverbridge re-sends with a new id', () => {
    const [a] = parseNotification(body(PAID));
    const [b] = parseNotification(body({ ...PAID, meta: { ...PAID.meta, id: 'N2' } }));
    expect(a?.eventKey).toBe(b?.eventKey);
  });

  it('RefundNotification / PartialRefundNotification -> refund.succeeded with the refunded amount', () => {
    const full = parseNotification(
      body({
        ...PAID,
        meta: { type: 'RefundNotification' },
        refund: { id: 'R1', amount: 9.99, currencyId: 'USD' },
      }),
    );
    expect(full).toEqual([
      {
        type: 'refund.succeeded',
        rawType: 'RefundNotification',
        eventKey: 'RefundNotification:500000001:R1',
        externalPaymentId: '500000001',
        externalModificationId: 'R1',
        externalSubscriptionId: 'S9000001',
        amount: { value: 999, currency: 'USD' },
        partial: false,
        extraParameters: {
          'x-connector-attempt': 'att_1',
          'x-connector-reference': 'pay_1',
          'x-campaign': 'spring',
        },
        attemptKey: 'att_1',
        paymentReference: 'pay_1',
      },
    ]);
    const fullWithoutRefundBlock = parseNotification(body({ ...PAID, meta: { type: 'RefundNotification' } }));
    expect(fullWithoutRefundBlock[0]).toMatchObject({
      amount: { value: 999, currency: 'USD' },
      partial: false,
      eventKey: 'RefundNotification:500000001',
    });

    const partial = parseNotification(
      body({
        ...PAID,
        meta: { type: 'PartialRefundNotification', id: 'N7' },
        refund: { amount: '4.00', currencyId: 'USD' },
      }),
    );
    expect(partial[0]).toMatchObject({
      type: 'refund.succeeded',
      partial: true,
      amount: { value: 400, currency: 'USD' },
      eventKey: 'PartialRefundNotification:500000001:N7',
    });
    expect(() => parseNotification(body({ ...PAID, meta: { type: 'PartialRefundNotification' } }))).toThrow(
      WebhookMalformedError,
    );
  });

  it('ChargebackNotification -> chargeback; NewOfflinePaymentPurchaseNotification -> ignored', () => {
    expect(
      parseNotification(
        body({
          ...PAID,
          meta: { type: 'ChargebackNotification' },
          chargeback: { id: 'C1', amount: 9.99, currencyId: 'USD' },
        }),
      )[0],
    ).toMatchObject({
      type: 'chargeback',
      amount: { value: 999, currency: 'USD' },
      externalPaymentId: '500000001',
      externalModificationId: 'C1',
      eventKey: 'ChargebackNotification:500000001:C1',
    });
    expect(
      parseNotification(body({ ...PAID, meta: { type: 'NewOfflinePaymentPurchaseNotification' } }))[0],
    ).toMatchObject({
      type: 'ignored',
      rawType: 'NewOfflinePaymentPurchaseNotification',
      eventKey: 'NewOfflinePaymentPurchaseNotification:500000001',
      amount: { value: 999, currency: 'USD' },
    });
  });

  it('other types are ignored, keyed by meta.id or by a hash of the exact body', () => {
    const [withId] = parseNotification(body({ meta: { type: 'RegistrationNotification', id: 'N9' } }));
    expect(withId).toEqual({
      type: 'ignored',
      rawType: 'RegistrationNotification',
      eventKey: 'RegistrationNotification:N9',
      extraParameters: {},
    });
    const raw = body({ meta: { type: 'SubscriptionChangedNotification' } });
    const [a] = parseNotification(raw);
    const [b] = parseNotification(raw);
    expect(a?.eventKey).toMatch(/^SubscriptionChangedNotification:[0-9a-f]{32}$/);
    expect(a?.eventKey).toBe(b?.eventKey);
  });

  it.each([
    ['not JSON', Buffer.from('{nope')],
    ['no meta', body({ purchase: { id: '1' } })],
    ['empty type', body({ meta: { type: '' } })],
    ['array', body([PAID])],
    ['paid without purchase id', body({ meta: { type: 'PaidOrderNotification' }, purchase: {} })],
    ['bad amount', body({ ...PAID, purchase: { ...PAID.purchase, totalGross: 'lots' } })],
    ['too many decimals', body({ ...PAID, purchase: { ...PAID.purchase, totalGross: 9.999 } })],
    ['amount without currency', body({ ...PAID, purchase: { ...PAID.purchase, currencyId: undefined } })],
  ])('malformed: %s', (_case, raw) => {
    expect(() => parseNotification(raw)).toThrow(WebhookMalformedError);
  });
});

describe('fromPurchaseList (lookup of a ProcessCart whose answer was lost)', () => {
  const query = { idempotencyKey: 'att_9:1', sentAfter: NOW };
  const listed = (purchaseId: string, status: string, attempt = 'att_9:1', extra: object = {}) => ({
    purchaseId,
    status,
    creationTime: NOW.toISOString(),
    extraParameters: { extraParameter: [{ key: 'x-connector-attempt', value: attempt }] },
    ...extra,
  });

  it('finds the purchase by its x-connector-attempt and maps its status like a ProcessCart answer', () => {
    expect(
      fromPurchaseList({ purchases: [listed('1', 'Paid', 'other'), listed('2', 'Paid')] }, query),
    ).toEqual({
      kind: 'found',
      result: { status: 'captured', externalPaymentId: '2' },
    });
    expect(fromPurchaseList({ purchases: [listed('3', 'WaitingForOfflinePayment')] }, query)).toEqual({
      kind: 'found',
      result: { status: 'pending', externalPaymentId: '3' },
    });
    expect(
      fromPurchaseList(
        {
          purchases: [
            listed('4', 'Declined', 'att_9:1', {
              paymentResult: { code: 'PAY_CLE' },
              isPaymentRetryScheduled: true,
            }),
          ],
        },
        query,
      ),
    ).toMatchObject({
      kind: 'found',
      result: { status: 'rejected', decline: { code: 'PAY_CLE' }, retryScheduled: true },
    });
  });

  it('a paid purchase wins; by purchase id when the attempt is not listed with it', () => {
    expect(
      fromPurchaseList({ purchases: [listed('5', 'Paid'), listed('6', 'Declined')] }, query),
    ).toMatchObject({ kind: 'found', result: { externalPaymentId: '5' } });
    expect(
      fromPurchaseList(
        { purchases: [{ purchaseId: 7, status: 'Paid' }] },
        { ...query, externalPaymentId: '7' },
      ),
    ).toMatchObject({ kind: 'found', result: { status: 'captured', externalPaymentId: '7' } });
  });

  it('nothing of ours listed is a definite not_found; an unreadable answer or status is unknown', () => {
    expect(fromPurchaseList({ purchases: [listed('8', 'Paid', 'att_other:1')] }, query)).toEqual({
      kind: 'not_found',
    });
    expect(() => fromPurchaseList({ error: 'x' }, query)).toThrow(GatewayOutcomeUnknownError);
    expect(() => fromPurchaseList({ purchases: [listed('9', 'Mystery')] }, query)).toThrow(
      GatewayOutcomeUnknownError,
    );
  });
});
