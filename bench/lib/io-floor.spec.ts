import { floorMs, purchaseIo } from './io-floor';

describe('the I/O floor of an operation', () => {
  const floor = { answeredMs: 0.03, sentMs: 0.075, statementMs: 0.05 };

  it('counts what a purchase answers and sends, with and without its notifications', () => {
    expect(purchaseIo(9.6, true)).toEqual({ answered: 5, sent: 4, statements: 9.6 });
    expect(purchaseIo(8.1, false)).toEqual({ answered: 2, sent: 4, statements: 8.1 });
  });

  it('adds each kind of I/O at its own cost', () => {
    expect(floorMs(floor, { answered: 1, sent: 0, statements: 0 })).toBeCloseTo(0.03, 10);
    expect(floorMs(floor, { answered: 0, sent: 2, statements: 0 })).toBeCloseTo(0.15, 10);
    expect(floorMs(floor, purchaseIo(10, true))).toBeCloseTo(5 * 0.03 + 4 * 0.075 + 10 * 0.05, 10);
  });
});
