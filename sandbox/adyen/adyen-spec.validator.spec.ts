import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdyenSpecValidator } from './adyen-spec.validator';

const validPayment = () => ({
  merchantAccount: 'SandboxMerchantECOM',
  amount: { value: 999, currency: 'EUR' },
  reference: 'order-1',
  returnUrl: 'https://shop.example/return',
  paymentMethod: {
    type: 'scheme',
    encryptedCardNumber: 'test_4111111111111111',
    encryptedExpiryMonth: 'test_03',
    encryptedExpiryYear: 'test_2030',
    encryptedSecurityCode: 'test_737',
    holderName: 'Jane Doe',
  },
  shopperReference: 'customer-42',
  shopperInteraction: 'Ecommerce',
  recurringProcessingModel: 'Subscription',
  storePaymentMethod: true,
});

describe('AdyenSpecValidator', () => {
  // one instance for the file: compiling PaymentRequest is the slow part
  const validator = new AdyenSpecValidator();

  it('accepts a valid card PaymentRequest, raw or encrypted, and a stored-token one', () => {
    expect(validator.validate('post', '/payments', validPayment())).toEqual([]);
    const raw = {
      ...validPayment(),
      paymentMethod: {
        type: 'scheme',
        number: '4111111111111111',
        expiryMonth: '03',
        expiryYear: '2030',
        cvc: '737',
      },
    };
    expect(validator.validate('post', '/payments', raw)).toEqual([]);
    const mit = {
      ...validPayment(),
      paymentMethod: { type: 'scheme', storedPaymentMethodId: 'M5N7TQ4TG5PFWR50' },
      shopperInteraction: 'ContAuth',
      storePaymentMethod: undefined,
    };
    expect(validator.validate('post', '/payments', mit)).toEqual([]);
  });

  it('reports missing returnUrl and reference', () => {
    const { returnUrl: _r, reference: _ref, ...body } = validPayment();
    const errors = validator.validate('post', '/payments', body);
    expect(errors).toEqual(expect.arrayContaining(['returnUrl is required', 'reference is required']));
    expect(errors).toHaveLength(2);
  });

  it('reports a string amount value', () => {
    const errors = validator.validate('post', '/payments', {
      ...validPayment(),
      amount: { value: '9.99', currency: 'EUR' },
    });
    expect(errors).toEqual(['amount.value must be of type integer (got "9.99")']);
  });

  it('reports an unknown shopperInteraction with the allowed values', () => {
    const errors = validator.validate('post', '/payments', {
      ...validPayment(),
      shopperInteraction: 'Recurring',
    });
    expect(errors).toEqual([
      'shopperInteraction must be one of [Ecommerce, ContAuth, Moto, POS] (got "Recurring")',
    ]);
  });

  it('reports unknown fields, including inside the oneOf paymentMethod via its closest schema', () => {
    expect(validator.validate('post', '/payments', { ...validPayment(), customerId: 'c1' })).toEqual([
      'customerId is not a known field here',
    ]);
    const errors = validator.validate('post', '/payments', {
      ...validPayment(),
      paymentMethod: { type: 'scheme', cardNumber: '4111111111111111' },
    });
    expect(errors).toEqual([
      'paymentMethod does not match any allowed schema; closest is CardDetails:',
      '  paymentMethod.cardNumber is not a known field here',
    ]);
  });

  it('requires paymentMethod.type where several payment-method schemas would match', () => {
    const errors = validator.validate('post', '/payments', {
      ...validPayment(),
      paymentMethod: { storedPaymentMethodId: 'M5N7TQ4TG5PFWR50' },
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^paymentMethod matches more than one allowed schema \(.+\); set a distinguishing "type"$/,
    );
  });

  it('accepts a valid capture request and rejects one without amount', () => {
    const capture = {
      merchantAccount: 'SandboxMerchantECOM',
      amount: { value: 999, currency: 'EUR' },
      reference: 'c-1',
    };
    expect(validator.validate('post', '/payments/{paymentPspReference}/captures', capture)).toEqual([]);
    expect(
      validator.validate('post', '/payments/{paymentPspReference}/captures', {
        merchantAccount: 'SandboxMerchantECOM',
      }),
    ).toEqual(['amount is required']);
  });

  it('validates refunds, cancels, standalone cancels and payment details', () => {
    const refund = {
      merchantAccount: 'M',
      amount: { value: 1, currency: 'EUR' },
      merchantRefundReason: 'CUSTOMER REQUEST',
    };
    expect(validator.validate('post', '/payments/{paymentPspReference}/refunds', refund)).toEqual([]);
    expect(
      validator.validate('post', '/payments/{paymentPspReference}/refunds', {
        ...refund,
        merchantRefundReason: 'because',
      }),
    ).toHaveLength(1);
    expect(
      validator.validate('post', '/payments/{paymentPspReference}/cancels', { merchantAccount: 'M' }),
    ).toEqual([]);
    expect(validator.validate('post', '/cancels', { merchantAccount: 'M' })).toEqual([
      'paymentReference is required',
    ]);
    expect(validator.validate('post', '/payments/details', { details: { redirectResult: 'abc' } })).toEqual(
      [],
    );
    expect(validator.validate('post', '/payments/details', {})).toEqual(['details is required']);
  });

  it('limits Idempotency-Key to 64 characters', () => {
    const body = validPayment();
    expect(validator.validate('post', '/payments', body, { 'idempotency-key': 'k'.repeat(64) })).toEqual([]);
    expect(validator.validate('post', '/payments', body, { 'Idempotency-Key': 'k'.repeat(65) })).toEqual([
      'Idempotency-Key header must be at most 64 characters (got 65)',
    ]);
  });

  it("accepts the spec's own example responses and rejects a wrong one", () => {
    const spec = JSON.parse(readFileSync(join(__dirname, 'spec', 'CheckoutService-v71.json'), 'utf8'));
    const example = (name: string): unknown => spec.components.examples[name].value;
    expect(
      validator.validateResponse(
        'post',
        '/payments',
        200,
        example('post-payments-subscription-first-transaction-200'),
      ),
    ).toEqual([]);
    expect(
      validator.validateResponse(
        'post',
        '/payments',
        200,
        example('post-payments-card-3d-secure-redirect-200'),
      ),
    ).toEqual([]);
    expect(
      validator.validateResponse(
        'post',
        '/payments/{paymentPspReference}/captures',
        201,
        example('post-payments-paymentPspReference-captures-capture-201'),
      ),
    ).toEqual([]);
    expect(validator.validateResponse('post', '/payments', 200, { resultCode: 'Approved' })).toEqual([
      'resultCode must be one of [AuthenticationFinished, AuthenticationNotRequired, Authorised, Cancelled, ChallengeShopper, Error, IdentifyShopper, PartiallyAuthorised, Pending, PresentToShopper, Received, RedirectShopper, Refused, Success] (got "Approved")',
    ]);
  });
});
