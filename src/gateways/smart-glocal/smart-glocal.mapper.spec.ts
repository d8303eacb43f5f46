import { Money } from '../../common/money/money';
import { GatewayRequestRejectedError } from '../gateway.errors';
import { fromSession, toInitPaymentRequest, toPaymentDetails } from './smart-glocal.mapper';

describe('Smart Glocal mapper', () => {
  it('maps our card fields to bank_card, and a stored token to recurrent with the initiator', () => {
    expect(
      toPaymentDetails(
        {
          kind: 'customer',
          paymentMethod: {
            type: 'card',
            number: '4111111111111111',
            expiryMonth: '3',
            expiryYear: '2030',
            cvc: '737',
          },
        },
        'customer',
      ),
    ).toEqual({
      type: 'card',
      card: {
        type: 'bank_card',
        bank_card: {
          number: '4111111111111111',
          expiration_month: '03',
          expiration_year: '2030',
          security_code: '737',
        },
      },
    });
    expect(toPaymentDetails({ kind: 'stored', token: 't' }, 'merchant')).toEqual({
      type: 'recurrent',
      recurrent: { token: 't', initiator: 'merchant' },
    });
    expect(
      toPaymentDetails({ kind: 'customer', paymentMethod: { type: 'recurrent', token: 't' } }, 'customer'),
    ).toEqual({
      type: 'recurrent',
      recurrent: { token: 't', initiator: 'client' },
    });
  });

  it('refuses a payment method it cannot send, naming the fields', () => {
    expect(() =>
      toPaymentDetails({ kind: 'customer', paymentMethod: { type: 'card', number: '4' } }, 'customer'),
    ).toThrow(/expiryMonth, expiryYear, cvc are required/);
    expect(() =>
      toPaymentDetails({ kind: 'customer', paymentMethod: { type: 'scheme' } }, 'customer'),
    ).toThrow(GatewayRequestRejectedError);
  });

  it('sends minor units, lower-case currency, recurrent for a first payment, our ids in metadata', () => {
    const body = toInitPaymentRequest({
      idempotencyKey: 'p1:charge',
      reference: 'p1',
      amount: Money.of(999, 'USD'),
      customer: { reference: 'c1' },
      source: { kind: 'stored', token: 't' },
      initiator: 'merchant',
      storeForRecurring: false,
      returnUrl: 'https://shop/return',
    });
    expect(body).toMatchObject({
      amount_details: { amount: 999, currency: 'usd' },
      customer: { reference: 'c1' },
      payment_options: { return_url: 'https://shop/return' },
      metadata: { connector_reference: 'p1', connector_attempt: 'p1:charge' },
    });
    expect(body.payment_options?.recurrent).toBeUndefined();
  });

  it('reads a session: succeeded captured, failed or cancelled rejected, a redirect action_required, else pending', () => {
    const s = (payment: Record<string, unknown>, status = 'in_progress') => ({
      id: 'ps_1',
      status,
      acquiring_payments: [{ id: 'pm_1', status: 'in_progress', ...payment }],
    });
    expect(fromSession(s({ status: 'succeeded', recurrent: { token: 'tok' } }, 'accepted'))).toMatchObject({
      status: 'captured',
      externalPaymentId: 'ps_1',
      recurringToken: 'tok',
    });
    expect(fromSession(s({ status: 'failed', error: { code: 'fraud_suspected' } })).decline?.code).toBe(
      'FRA_REJ',
    );
    expect(fromSession(s({}, 'canceled')).status).toBe('rejected');
    expect(
      fromSession(
        s({
          status: 'pending',
          customer_interaction: { type: 'redirect', redirect: { url: 'https://acs', method: 'GET' } },
        }),
      ),
    ).toMatchObject({
      status: 'action_required',
      action: { type: 'redirect', url: 'https://acs', method: 'GET' },
    });
    expect(fromSession(s({})).status).toBe('pending');
  });
});
