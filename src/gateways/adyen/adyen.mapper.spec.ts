import 'reflect-metadata';
import { Money } from '../../common/money/money';
import { AdyenSpecValidator } from '../../../sandbox/adyen/adyen-spec.validator';
import { AuthoriseInput } from '../gateway.provider';
import {
  ADYEN_REFUSAL_CODES,
  fromPaymentResponse,
  mapRefusal,
  normaliseExpiry,
  toCancelByReferenceRequest,
  toCancelRequest,
  toCaptureRequest,
  toPaymentDetailsRequest,
  toPaymentRequest,
  toRefundRequest,
  toStoredPaymentMethodRequest,
  toZeroAuthRequest,
} from './adyen.mapper';
import { AdyenPaymentResponse } from './adyen.types';

/** A response as it comes off the wire: plain JSON, strings where the library declares string enums. */
const wire = (body: Record<string, unknown>): AdyenPaymentResponse => body;

/** Everything we send must validate against Adyen's official CheckoutService-v71.json. */
const spec = new AdyenSpecValidator();
const ctx = { merchantAccount: 'SandboxMerchantECOM', manualCapture: true };

const cit: AuthoriseInput = {
  idempotencyKey: 'k1',
  reference: '8f098b20-3554-444e-ae98-dad9648dc434',
  amount: Money.of(999, 'USD'),
  customer: { reference: 'cleeng-customer-42', country: 'US', email: 'a@b.test' },
  source: {
    kind: 'customer',
    paymentMethod: { number: '4111111111111111', expiryMonth: '03', expiryYear: '2030', cvc: '737' },
  },
  initiator: 'customer',
  storeForRecurring: true,
  returnUrl: 'https://shop.example/return',
  browserInfo: {
    acceptHeader: 'text/html',
    colorDepth: 24,
    javaEnabled: false,
    language: 'en-US',
    screenHeight: 900,
    screenWidth: 1440,
    timeZoneOffset: 0,
    userAgent: 'jest',
  },
};

describe('adyen.mapper requests', () => {
  it('customer-initiated first payment: Ecommerce + Subscription + store token, spec-valid', () => {
    const req = toPaymentRequest(cit, ctx);
    expect(req).toMatchObject({
      amount: { value: 999, currency: 'USD' },
      shopperInteraction: 'Ecommerce',
      recurringProcessingModel: 'Subscription',
      storePaymentMethod: true,
      shopperReference: 'cleeng-customer-42',
      additionalData: { manualCapture: 'true' },
      paymentMethod: { type: 'scheme', number: '4111111111111111', cvc: '737' },
    });
    expect(spec.validate('post', '/payments', req, { 'idempotency-key': 'k1' })).toEqual([]);
  });

  it('passes encrypted card fields through untouched', () => {
    const encrypted = {
      type: 'scheme',
      encryptedCardNumber: 'adyenjs_0_1_25$abc',
      encryptedSecurityCode: 'adyenjs_0_1_25$def',
    };
    const req = toPaymentRequest({ ...cit, source: { kind: 'customer', paymentMethod: encrypted } }, ctx);
    expect(req.paymentMethod).toEqual(encrypted);
    expect(spec.validate('post', '/payments', req)).toEqual([]);
  });

  it('merchant-initiated renewal: stored token, ContAuth, no storePaymentMethod, returnUrl still sent', () => {
    const req = toPaymentRequest(
      {
        ...cit,
        source: { kind: 'stored', token: 'M5N7TQ4TG5PFWR50' },
        initiator: 'merchant',
        storeForRecurring: false,
      },
      { ...ctx, manualCapture: false },
    );
    expect(req).toMatchObject({
      shopperInteraction: 'ContAuth',
      recurringProcessingModel: 'Subscription',
      paymentMethod: { type: 'scheme', storedPaymentMethodId: 'M5N7TQ4TG5PFWR50' },
      captureDelayHours: 0,
    });
    expect(req.storePaymentMethod).toBeUndefined();
    expect(req.browserInfo).toBeUndefined();
    expect(req.returnUrl).toBeTruthy();
    expect(spec.validate('post', '/payments', req)).toEqual([]);
  });

  it('zero-value auth for a free trial: amount 0 and store the token', () => {
    const req = toZeroAuthRequest(
      {
        idempotencyKey: 'k',
        reference: 'r-123',
        currency: 'EUR',
        customer: cit.customer,
        source: cit.source,
        returnUrl: cit.returnUrl,
      },
      ctx,
    );
    expect(req).toMatchObject({
      amount: { value: 0, currency: 'EUR' },
      storePaymentMethod: true,
      shopperInteraction: 'Ecommerce',
    });
    expect(req.additionalData).toBeUndefined();
    expect(spec.validate('post', '/payments', req)).toEqual([]);
  });

  it('modification, details and tokenisation bodies the gateway builds are spec-valid', () => {
    const base = { idempotencyKey: 'k', reference: 'r' };
    const amount = Money.of(999, 'USD');
    const capture = toCaptureRequest({ ...base, externalPaymentId: 'PSP', amount }, 'M');
    expect(capture).toEqual({
      merchantAccount: 'M',
      amount: { value: 999, currency: 'USD' },
      reference: 'r',
    });
    expect(spec.validate('post', '/payments/{paymentPspReference}/captures', capture)).toEqual([]);
    const refund = toRefundRequest({ ...base, externalPaymentId: 'PSP', amount }, 'M');
    expect(refund).toEqual({ merchantAccount: 'M', amount: { value: 999, currency: 'USD' }, reference: 'r' });
    expect(spec.validate('post', '/payments/{paymentPspReference}/refunds', refund)).toEqual([]);
    const cancel = toCancelRequest({ ...base, externalPaymentId: 'PSP' }, 'M');
    expect(cancel).toEqual({ merchantAccount: 'M', reference: 'r' });
    expect(spec.validate('post', '/payments/{paymentPspReference}/cancels', cancel)).toEqual([]);
    const byReference = toCancelByReferenceRequest(base, 'M');
    expect(byReference).toEqual({ merchantAccount: 'M', paymentReference: 'r', reference: 'r:cancel' });
    expect(spec.validate('post', '/cancels', byReference)).toEqual([]);
    const details = toPaymentDetailsRequest({ ...base, details: { redirectResult: 'abc' } });
    expect(details).toEqual({ details: { redirectResult: 'abc' } });
    expect(spec.validate('post', '/payments/details', details)).toEqual([]);
    const stored = toStoredPaymentMethodRequest(
      {
        ...base,
        currency: 'USD',
        returnUrl: 'https://shop.example/return',
        customer: { reference: 'cleeng-customer-42' },
        source: {
          kind: 'customer',
          paymentMethod: { number: '4111111111111111', expiryMonth: '03', expiryYear: '2030' },
        },
      },
      'M',
    );
    expect(stored).toEqual({
      merchantAccount: 'M',
      shopperReference: 'cleeng-customer-42',
      recurringProcessingModel: 'Subscription',
      paymentMethod: { type: 'scheme', number: '4111111111111111', expiryMonth: '03', expiryYear: '2030' },
    });
    expect(spec.validate('post', '/storedPaymentMethods', stored)).toEqual([]);
  });

  it('the validator really checks: a broken request fails', () => {
    const req = { ...toPaymentRequest(cit, ctx), shopperInteraction: 'Recurring' };
    expect(spec.validate('post', '/payments', req).join()).toContain('shopperInteraction');
  });
});

describe('adyen.mapper responses', () => {
  it('maps every refusal code of DESIGN.md §3', () => {
    const expected: Record<string, string> = {
      '2': 'PAY_DEC',
      '3': 'PAY_DEC',
      '27': 'PAY_DEC',
      '12': 'PAY_CLE',
      '28': 'PAY_CLE',
      '29': 'PAY_CLE',
      '6': 'PAY_CEX',
      '24': 'PAY_SCO',
      '5': 'PAY_REJ',
      '25': 'PAY_REJ',
      '14': 'FRA_REJ',
      '20': 'FRA_REJ',
      '22': 'FRA_REJ',
      '31': 'FRA_REJ',
      '4': 'GW_ERROR',
      '9': 'GW_ERROR',
    };
    for (const [code, normalised] of Object.entries(expected)) {
      expect({ code, normalised: mapRefusal(code, 'x').code }).toEqual({ code, normalised });
    }
    expect(Object.keys(ADYEN_REFUSAL_CODES).sort()).toEqual(Object.keys(expected).sort());
    expect(mapRefusal('38', 'Authentication required')).toMatchObject({ code: 'PAY_DEC', rawCode: '38' });
    expect(mapRefusal(undefined, undefined).code).toBe('PAY_DEC');
  });

  it('reads token and card metadata from an authorisation', () => {
    const result = fromPaymentResponse(
      wire({
        pspReference: 'ABCDEF0123456789',
        resultCode: 'Authorised',
        additionalData: {
          'tokenization.storedPaymentMethodId': 'TOKEN1',
          cardSummary: '1111',
          expiryDate: '3/2030',
          cardHolderName: 'Matthew Brown',
          paymentMethod: 'visa',
        },
      }),
      'authorise',
    );
    expect(result).toEqual({
      status: 'authorised',
      externalPaymentId: 'ABCDEF0123456789',
      recurringToken: 'TOKEN1',
      card: {
        variant: 'visa',
        lastCardFourDigits: '1111',
        cardExpirationDate: '03/2030',
        holderName: 'Matthew Brown',
      },
    });
    expect(fromPaymentResponse(wire({ resultCode: 'Authorised', pspReference: 'P' }), 'charge').status).toBe(
      'captured',
    );
  });

  it('maps refusals, errors, redirects and pending states', () => {
    expect(
      fromPaymentResponse(
        wire({ resultCode: 'Refused', refusalReasonCode: '6', refusalReason: 'Expired Card' }),
        'authorise',
      ),
    ).toMatchObject({
      status: 'rejected',
      decline: { code: 'PAY_CEX', class: 'hard', rawCode: '6', rawReason: 'Expired Card' },
    });
    expect(
      fromPaymentResponse(wire({ resultCode: 'Error', refusalReasonCode: '4' }), 'authorise').decline?.class,
    ).toBe('technical');
    expect(
      fromPaymentResponse(
        wire({
          resultCode: 'RedirectShopper',
          action: { type: 'redirect', url: 'https://3ds', method: 'GET' },
        }),
        'authorise',
      ),
    ).toMatchObject({
      status: 'action_required',
      action: { type: 'redirect', url: 'https://3ds', method: 'GET' },
    });
    expect(
      fromPaymentResponse(
        wire({ resultCode: 'ChallengeShopper', action: { type: 'threeDS2', token: 't' } }),
        'authorise',
      ).action?.type,
    ).toBe('widget');
    expect(fromPaymentResponse(wire({ resultCode: 'Received' }), 'authorise').status).toBe('pending');
    expect(fromPaymentResponse(wire({ resultCode: 'PartiallyAuthorised' }), 'authorise').status).toBe(
      'rejected',
    );
  });

  it('normalises expiry dates to MM/YYYY', () => {
    expect(normaliseExpiry('3/2030')).toBe('03/2030');
    expect(normaliseExpiry('12/30')).toBe('12/2030');
    expect(normaliseExpiry('garbage')).toBe('garbage');
  });
});
