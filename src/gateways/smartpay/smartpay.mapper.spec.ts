import { Money } from '../../common/money/money';
import { WebhookMalformedError, WebhookUnauthenticatedError } from '../../inbox/webhook.errors';
import { GatewayRequestRejectedError } from '../gateway.errors';
import {
  billingOf,
  declineFor,
  fromTransaction,
  parseCheckout,
  parseNotification,
  planFor,
  verifyBasicAuth,
} from './smartpay.mapper';

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

const notification = (eventType: string, data: Record<string, unknown>): Buffer =>
  Buffer.from(
    JSON.stringify({
      id: 'event-1',
      createdAt: '2026-01-01T00:00:00.00Z',
      sourceSystem: 'subscription-module',
      origin: 'automated',
      eventType,
      objectId: 'subscription-1',
      data,
    }),
  );

describe('SmartPay mapper', () => {
  it('maps ISO periods to billing occurrence and unit, and refuses the rest', () => {
    expect(billingOf('P1M')).toEqual({ billingOccurrence: 1, billingUnit: 'month' });
    expect(billingOf('P1W')).toEqual({ billingOccurrence: 7, billingUnit: 'day' });
    expect(billingOf('P1Y')).toEqual({ billingOccurrence: 1, billingUnit: 'year' });
    expect(billingOf('P0M')).toBeUndefined();
    expect(billingOf('1M')).toBeUndefined();
  });

  it('builds a plan from the offer in major units, unlimited cycles, keyed by offer, price and period', () => {
    const plan = planFor('S1_US', Money.of(999, 'USD'), 'P1M');
    expect(plan).toMatchObject({
      recurrentAmount: 9.99,
      currencyIsoCode: 'USD',
      billingOccurrence: 1,
      billingUnit: 'month',
      billingCycles: -1,
      prepaid: true,
      merchantMetadata: 'cleeng-offer:S1_US:999:USD:P1M',
    });
    expect(planFor('S3_JP', Money.of(1000, 'JPY'), 'P1M').recurrentAmount).toBe(1000);
  });

  it('normalises result codes; unknown codes are PAY_DEC with the raw code kept', () => {
    expect(declineFor('insufficient_funds')).toMatchObject({
      code: 'PAY_CLE',
      rawCode: 'insufficient_funds',
    });
    expect(declineFor('card_expired').code).toBe('PAY_CEX');
    expect(declineFor('fraud_suspected').class).toBe('hard');
    expect(declineFor('whatever', 'Nope')).toMatchObject({
      code: 'PAY_DEC',
      rawCode: 'whatever',
      rawReason: 'Nope',
    });
    expect(fromTransaction({ id: 't1', status: 'succeeded' })).toEqual({
      status: 'captured',
      externalPaymentId: 't1',
    });
    expect(fromTransaction({ id: 't2', status: 'failed', resultCode: 'invalid_cvc' })).toMatchObject({
      status: 'rejected',
      decline: { code: 'PAY_SCO' },
    });
  });

  it('checks the payment method before anything is sent (state required for US)', () => {
    const address = { addressLine1: '1 Main St', city: 'X', postCode: '1', countryCode: 'US' };
    expect(() => parseCheckout({ billingAddress: address }, 'US')).toThrow(GatewayRequestRejectedError);
    expect(() => parseCheckout({}, 'US')).toThrow(/billingAddress/);
    expect(() => parseCheckout({ billingPeriod: 'monthly', billingAddress: address }, 'US')).toThrow(
      /billingPeriod/,
    );
    expect(parseCheckout({ billingAddress: { ...address, state: 'IL' } }, 'US').billingPeriod).toBe('P1M');
  });

  it('accepts only the configured Basic credentials', () => {
    const expected = { username: 'u', password: 'p' };
    expect(() => verifyBasicAuth({ authorization: basic('u', 'p') }, expected)).not.toThrow();
    expect(() => verifyBasicAuth({ authorization: basic('u', 'x') }, expected)).toThrow(
      WebhookUnauthenticatedError,
    );
    expect(() => verifyBasicAuth({}, expected)).toThrow(WebhookUnauthenticatedError);
  });

  it('turns a billing cycle into billing.succeeded / billing.failed with the transaction id', () => {
    const data = {
      subscriptionId: 'subscription-1',
      billingCycleId: 'cycle-1',
      amount: 9.99,
      currencyIsoCode: 'USD',
      transactionId: 'transaction-1',
    };
    expect(parseNotification(notification('billing.updated', { ...data, status: 'succeeded' }))).toEqual([
      expect.objectContaining({
        type: 'billing.succeeded',
        eventKey: 'event-1',
        externalSubscriptionId: 'subscription-1',
        externalPaymentId: 'transaction-1',
        billingCycleId: 'cycle-1',
        amount: { value: 999, currency: 'USD' },
      }),
    ]);
    const [failed] = parseNotification(
      notification('billing.updated', { ...data, status: 'failed', resultCode: 'insufficient_funds' }),
    );
    expect(failed).toMatchObject({ type: 'billing.failed', decline: { code: 'PAY_CLE' } });
    expect(parseNotification(notification('billing.updated', { ...data, status: 'pending' }))[0]?.type).toBe(
      'ignored',
    );
  });

  it('turns a payment serie transaction into payment.paid keyed by partnerReference', () => {
    const [event] = parseNotification(
      notification('billing.updated', {
        paymentSeriesId: 'paymentSerie-1',
        partnerReference: 'attempt-1:1',
        transactionId: 'transaction-9',
        status: 'succeeded',
      }),
    );
    expect(event).toMatchObject({
      type: 'payment.paid',
      attemptKey: 'attempt-1:1',
      externalPaymentId: 'transaction-9',
    });
  });

  it('mirrors status changes; malformed bodies are refused', () => {
    expect(
      parseNotification(
        notification('status.updated', { subscriptionId: 'subscription-1', status: 'cancelled' }),
      )[0],
    ).toMatchObject({ type: 'subscription.updated', subscriptionStatus: 'cancelled' });
    expect(parseNotification(notification('deleted', {}))[0]).toMatchObject({
      subscriptionStatus: 'cancelled',
    });
    expect(parseNotification(notification('billing.scheduled', {}))[0]?.type).toBe('ignored');
    expect(() => parseNotification(Buffer.from('nope'))).toThrow(WebhookMalformedError);
    expect(() => parseNotification(Buffer.from('{"id":"x"}'))).toThrow(WebhookMalformedError);
  });
});
