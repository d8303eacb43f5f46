import { Money } from '../common/money/money';
import { decline } from '../gateways/decline-codes';
import { emsPaymentReport } from './cleeng-reports';

describe('emsPaymentReport', () => {
  const base = {
    subscriptionId: 'sub-1',
    customerId: '927751142',
    offerId: 'S100000001_US',
    cleengSubscriptionId: '912345678',
    paymentMethodId: 104,
    amount: Money.of(999, 'USD'),
    attemptId: 'att-1',
    tryNumber: 2,
    externalPaymentId: '500000007',
  };

  it('reports a captured charge in major units with Cleeng ids as numbers', () => {
    expect(emsPaymentReport({ ...base, status: 'captured' })).toEqual({
      kind: 'cleeng.ems-payment.create',
      aggregateId: 'sub-1',
      dedupeKey: 'ems-payment:att-1:2:captured',
      payload: {
        method: 'POST',
        path: '/payments',
        body: {
          customerId: 927751142,
          status: 'captured',
          offerId: 'S100000001_US',
          paymentMethodId: 104,
          netAmount: 9.99,
          taxAmount: 0,
          currency: 'USD',
          externalPaymentId: '500000007',
          subscriptionId: 912345678,
        },
      },
    });
  });

  it('reports a decline with its reason, and JPY without decimals', () => {
    const report = emsPaymentReport({
      ...base,
      cleengSubscriptionId: null,
      amount: Money.of(1200, 'JPY'),
      status: 'rejected',
      decline: decline('PAY_CLE', { code: 'PAY_CLE' }),
    });
    expect(report.dedupeKey).toBe('ems-payment:att-1:2:rejected');
    expect(report.payload.body).toEqual(
      expect.objectContaining({
        status: 'rejected',
        netAmount: 1200,
        currency: 'JPY',
        rejectedReason: 'PAY_CLE: Card limit exceeded',
      }),
    );
    expect(report.payload.body).not.toHaveProperty('subscriptionId');
  });
});
