import { Money } from '../shared/money';
import { PaymentDetailsRecord, PaymentRecord, SubscriptionRecord } from './cleeng-sandbox.types';
import {
  authorisationData,
  captureData,
  capturePaymentData,
  paymentDetailsDeactivatedData,
  refundPaymentData,
  SANDBOX_BROADCASTER_ID,
  terminationData,
  webhookBody,
} from './cleeng-webhook.payloads';

const created = new Date('2026-01-31T10:00:00Z');
const expires = new Date('2026-02-28T10:00:00Z');

const subscription: SubscriptionRecord = {
  subscriptionId: 400000001,
  customerId: 927751142,
  offerId: 'S100000003_JP',
  status: 'active',
  paymentDetailsId: 300000001,
  paymentMethodId: 101,
  paymentCountry: 'JP',
  inTrial: false,
  couponCode: null,
  dateFrom: created,
  expiresAt: expires,
  nextPaymentAction: 'capture',
  completedCycles: 0,
  latestPaymentExternalId: 'PSP1',
  externalProperties: {},
  terminationType: null,
  externallyManaged: false,
  createdAt: created,
  updatedAt: created,
};

const details: PaymentDetailsRecord = {
  id: 300000001,
  customerId: 927751142,
  token: 'tok_en',
  paymentMethodId: 104,
  paymentMethodSpecificParams: { variant: 'visa' },
  active: true,
  createdAt: created,
};

function payment(amount: Money, overrides: Partial<PaymentRecord> = {}): PaymentRecord {
  return {
    id: 200000001,
    orderId: 100000001,
    customerId: 927751142,
    offerId: 'S100000004_KW',
    paymentMethodId: 101,
    country: 'KW',
    amount,
    status: 'captured',
    paymentOperation: 'initial-payment',
    externalPaymentId: 'PSP1',
    paymentDetailsId: 300000001,
    rejectedReason: null,
    refundedReason: null,
    refundType: null,
    refunds: [],
    subscriptionId: 400000001,
    createdAt: created,
    updatedAt: created,
    ...overrides,
  };
}

describe('Cleeng webhook payload mappers', () => {
  const attemptDate = new Date('2026-03-01T10:00:00Z');

  it('renders the authorisation webhook like Cleeng example: subscriptionId a string, other ids numbers', () => {
    expect(
      webhookBody(
        'subscriptionReadyForPaymentAuthorisation',
        authorisationData({ subscription, paymentDetails: details, attemptDate }),
      ),
    ).toEqual({
      broadcasterId: SANDBOX_BROADCASTER_ID,
      topic: 'subscriptionReadyForPaymentAuthorisation',
      data: {
        subscriptionId: '400000001',
        offerId: 'S100000003_JP',
        customerId: 927751142,
        customerEmail: 'customer-927751142@sandbox.invalid',
        paymentDetailsId: 300000001,
        active: true,
        dunningAttemptDate: '2026-03-01T10:00:00.000Z',
        dunningStatus: 'authorize',
        expirationDate: '2026-02-28T10:00:00.000Z',
        currency: 'JPY',
        paymentCountry: 'JP',
        // the payment method of the details that will be charged
        paymentMethodId: 104,
        token: 'tok_en',
      },
    });
  });

  it('adds paymentId to the capture webhook only for an authorised payment', () => {
    const ctx = { subscription, paymentDetails: details, attemptDate };
    expect(captureData(ctx)).not.toHaveProperty('paymentId');
    expect(captureData(ctx)).toMatchObject({ dunningStatus: 'capture' });
    expect(captureData(ctx, 200000009)).toMatchObject({ paymentId: 200000009, dunningStatus: 'capture' });
  });

  it('leaves out details and token when the subscription has no payment details any more', () => {
    const data = authorisationData({ subscription, paymentDetails: undefined, attemptDate });
    expect(data).toMatchObject({ active: false, paymentMethodId: 101 });
    expect(data).not.toHaveProperty('paymentDetailsId');
    expect(data).not.toHaveProperty('token');
  });

  it('renders termination and payment-details deactivation', () => {
    expect(terminationData(subscription)).toEqual({
      subscriptionId: '400000001',
      customerId: 927751142,
      offerId: 'S100000003_JP',
      paymentMethodId: 101,
    });
    expect(
      paymentDetailsDeactivatedData({
        paymentDetailsId: 300000001,
        customerId: 927751142,
        paymentMethodId: 101,
      }),
    ).toEqual({ paymentDetailsId: 300000001, customerId: 927751142, paymentMethodId: 101 });
  });

  it('puts refund and capture amounts in major units with the currency exponent', () => {
    const kwd = payment(Money.fromMajor('4.125', 'KWD'));
    expect(refundPaymentData(kwd, Money.fromMajor('1.005', 'KWD'), 'goodwill')).toEqual({
      paymentId: 200000001,
      externalPaymentId: 'PSP1',
      orderId: 100000001,
      amount: 1.005,
      currency: 'KWD',
      customerId: 927751142,
      paymentMethodId: 101,
      reason: 'goodwill',
    });
    expect(refundPaymentData(kwd, kwd.amount)).not.toHaveProperty('reason');
    const jpy = payment(Money.fromMajor('1000', 'JPY'), { status: 'authorized', externalPaymentId: null });
    expect(capturePaymentData(jpy)).toEqual({
      paymentId: 200000001,
      orderId: 100000001,
      amount: 1000,
      currency: 'JPY',
      paymentMethodId: 101,
    });
  });
});
