import { applyAfterSale, SaleBalance } from './after-sale';

const at = new Date('2026-01-01T00:00:00Z');
const sale = (over: Partial<SaleBalance<string>> = {}): SaleBalance<string> => ({
  status: 'captured',
  chargedMinor: 1000,
  refundedMinor: 0,
  adjustments: [],
  ...over,
});

describe('applyAfterSale', () => {
  it('a partial refund, then the rest: partially refunded, then refunded', () => {
    const first = applyAfterSale(sale(), { kind: 'refund', id: 'r1', amountMinor: 300, at });
    expect(first).toEqual({
      kind: 'apply',
      to: 'partially_refunded',
      adjustment: { type: 'refund', id: 'r1', amountMinor: 300, at: at.toISOString() },
      refundedMinor: 300,
    });
    const second = applyAfterSale(
      sale({ status: 'partially_refunded', refundedMinor: 300, adjustments: [{ type: 'refund', id: 'r1' }] }),
      { kind: 'refund', id: 'r2', amountMinor: undefined, at },
    );
    expect(second).toMatchObject({ kind: 'apply', to: 'refunded', refundedMinor: 1000 });
  });

  it('never takes back more than is left', () => {
    const result = applyAfterSale(sale({ refundedMinor: 900, status: 'partially_refunded' }), {
      kind: 'refund',
      id: 'r2',
      amountMinor: 500,
      at,
    });
    expect(result).toMatchObject({ kind: 'apply', to: 'refunded', refundedMinor: 1000 });
  });

  it('a chargeback takes what is left and leaves the refunded total alone', () => {
    const result = applyAfterSale(sale({ refundedMinor: 300, status: 'partially_refunded' }), {
      kind: 'chargeback',
      id: 'c1',
      amountMinor: undefined,
      at,
    });
    expect(result).toMatchObject({
      kind: 'apply',
      to: 'charged_back',
      refundedMinor: 300,
      adjustment: { type: 'chargeback', amountMinor: 700 },
    });
  });

  it('a redelivery, or a sale with nothing left, is ignored; an uncaptured one is not yet', () => {
    expect(
      applyAfterSale(sale({ adjustments: [{ type: 'refund', id: 'r1' }] }), {
        kind: 'refund',
        id: 'r1',
        amountMinor: 100,
        at,
      }),
    ).toEqual({ kind: 'ignored' });
    expect(
      applyAfterSale(sale({ status: 'refunded' }), { kind: 'chargeback', id: 'c', amountMinor: 1, at }),
    ).toEqual({
      kind: 'ignored',
    });
    expect(
      applyAfterSale(sale({ status: 'pending' }), { kind: 'refund', id: 'r', amountMinor: 1, at }),
    ).toEqual({
      kind: 'not_yet',
    });
  });
});
