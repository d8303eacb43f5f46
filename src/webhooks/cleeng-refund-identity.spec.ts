import type { RefundPaymentData } from '../cleeng/cleeng-webhook.types';
import { canonicalCleengTopic } from '../cleeng/cleeng-webhook.parser';
import { Money } from '../common/money/money';
import { cleengRefundKey } from './cleeng-refund-identity';

describe('cleengRefundKey', () => {
  const data: RefundPaymentData = { paymentId: 42, amount: 2.5, currency: 'USD', reason: 'dup' };
  const key = (d: RefundPaymentData): string =>
    cleengRefundKey(d, d.amount === undefined ? undefined : Money.fromMajor(d.amount, 'USD'));

  it('is the same for one refund however its delivery spells ids and amounts', () => {
    expect(key({ ...data, paymentId: '42', amount: '2.50' })).toBe(key(data));
    expect(key({ ...data, customerId: 7, orderId: '9' })).toBe(key(data));
  });

  it('differs by payment, amount, reason and a refund id or timestamp when Cleeng sends one', () => {
    const others = [
      { ...data, paymentId: 43 },
      { ...data, amount: 2.49 },
      { ...data, reason: 'other' },
      { ...data, createdAt: '2026-12-01T10:00:00Z' },
      { ...data, refundId: 'r-1' },
    ] as RefundPaymentData[];
    expect(new Set([key(data), ...others.map(key)]).size).toBe(others.length + 1);
  });
});

describe('canonicalCleengTopic', () => {
  it('matches known topics without case and keeps unknown ones', () => {
    expect(canonicalCleengTopic('PaymentDetailsDeactivated')).toBe('paymentDetailsDeactivated');
    expect(canonicalCleengTopic('REFUNDPAYMENT')).toBe('refundPayment');
    expect(canonicalCleengTopic('somethingNew')).toBe('somethingNew');
  });
});
