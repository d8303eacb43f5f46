import { Money } from '../common/money/money';
import { decline } from '../gateways/decline-codes';
import { emsAfterSaleReport, emsPaymentReport, emsSubscriptionLinkReport } from './cleeng-reports';

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

describe('externally managed subscription reports', () => {
  const charge = {
    subscriptionId: 'sub-1',
    customerId: '927751142',
    offerId: 'S100000001_US',
    paymentMethodId: 104,
    amount: Money.of(999, 'USD'),
    attemptId: 'att-1',
    tryNumber: 1,
    externalPaymentId: '500000007',
    status: 'captured' as const,
  };

  it('creates the Cleeng subscription without a subscriptionId, or names it when sent once it is linked', () => {
    const creating = emsPaymentReport({ ...charge, cleengSubscriptionId: null });
    expect(creating.payload.body).not.toHaveProperty('subscriptionId');
    expect(creating.payload.bodyParams).toBeUndefined();
    const waiting = emsPaymentReport({
      ...charge,
      cleengSubscriptionId: null,
      cleengSubscriptionAtSend: true,
    });
    expect(waiting.payload.body).not.toHaveProperty('subscriptionId');
    expect(waiting.payload.bodyParams).toEqual({ subscriptionId: 'emsCleengSubscriptionId' });
    // a known id is written at once
    const named = emsPaymentReport({
      ...charge,
      cleengSubscriptionId: '912345678',
      cleengSubscriptionAtSend: true,
    });
    expect(named.payload).toMatchObject({ body: { subscriptionId: 912345678 } });
    expect(named.payload.bodyParams).toBeUndefined();
  });

  it('looks the created subscription up by customer and offer, remembering the payment', () => {
    expect(
      emsSubscriptionLinkReport({
        subscriptionId: 'sub-1',
        customerId: '927751142',
        offerId: 'S100000001_US',
        externalPaymentId: '500000007',
      }),
    ).toEqual({
      kind: 'cleeng.subscription.link',
      aggregateId: 'sub-1',
      dedupeKey: 'ems-subscription-link:sub-1:500000007',
      payload: {
        method: 'GET',
        path: '/subscriptions?customerId=927751142&offerId=S100000001_US',
        ref: '500000007',
      },
    });
  });

  it('refunds or charges back the reported payment (no order), once per gateway adjustment', () => {
    const report = emsAfterSaleReport({
      subscriptionId: 'sub-1',
      externalPaymentId: '500000007',
      paymentOperation: 'recurring-payment',
      kind: 'chargeback',
      adjustmentId: 'CB-1',
      amount: Money.of(1000, 'JPY'),
      reason: null,
    });
    expect(report).toEqual({
      kind: 'cleeng.payment.refund',
      aggregateId: 'sub-1',
      dedupeKey: 'ems-after-sale:sub-1:500000007:chargeback:CB-1',
      payload: {
        method: 'PATCH',
        path: '/payments/{emsCleengPaymentId}',
        ref: '500000007',
        body: {
          status: 'refunded',
          paymentOperation: 'recurring-payment',
          refundedReason: 'chargeback',
          refundedAmount: 1000,
          refundType: 'chargeback',
        },
      },
    });
  });
});
