import { addInterval, InvalidIntervalError, parseInterval, periodStart } from './billing-interval';

const iso = (d: Date): string => d.toISOString();

describe('parseInterval', () => {
  it.each([
    ['P1M', { years: 0, months: 1, weeks: 0, days: 0 }],
    ['P1Y', { years: 1, months: 0, weeks: 0, days: 0 }],
    ['P7D', { years: 0, months: 0, weeks: 0, days: 7 }],
    ['P2W', { years: 0, months: 0, weeks: 2, days: 0 }],
    ['P1Y2M3D', { years: 1, months: 2, weeks: 0, days: 3 }],
  ])('reads %s', (text, parts) => {
    expect(parseInterval(text)).toEqual({ text, ...parts });
  });

  it.each(['', 'P', '1M', 'P1H', 'PT1H', 'P1MT2H', 'P-1M', 'P1.5M', 'P0D', 'P0Y0M', 'P11Y', 'p1m', 'P1M1Y'])(
    'refuses %j',
    (text) => {
      expect(() => parseInterval(text)).toThrow(InvalidIntervalError);
    },
  );
});

describe('addInterval', () => {
  const monthly = parseInterval('P1M');

  it('adds a month keeping the day and the UTC time of day', () => {
    expect(iso(addInterval(new Date('2026-01-15T10:30:00.250Z'), monthly))).toBe('2026-02-15T10:30:00.250Z');
  });

  it('clamps to the end of a shorter month, from the anchor each time (no drift)', () => {
    const anchor = new Date('2026-01-31T00:00:00Z');
    expect([0, 1, 2, 3, 4, 12, 13].map((n) => iso(periodStart(anchor, monthly, n)).slice(0, 10))).toEqual([
      '2026-01-31',
      '2026-02-28',
      '2026-03-31',
      '2026-04-30',
      '2026-05-31',
      '2027-01-31',
      '2027-02-28',
    ]);
  });

  it('knows leap years', () => {
    expect(iso(addInterval(new Date('2028-01-31T00:00:00Z'), monthly))).toBe('2028-02-29T00:00:00.000Z');
    const yearly = parseInterval('P1Y');
    const leapDay = new Date('2028-02-29T12:00:00Z');
    expect(iso(addInterval(leapDay, yearly))).toBe('2029-02-28T12:00:00.000Z');
    expect(iso(addInterval(leapDay, yearly, 4))).toBe('2032-02-29T12:00:00.000Z');
  });

  it('crosses year ends', () => {
    expect(iso(addInterval(new Date('2026-11-30T00:00:00Z'), monthly, 3))).toBe('2027-02-28T00:00:00.000Z');
    expect(iso(addInterval(new Date('2026-12-31T23:59:59Z'), monthly))).toBe('2027-01-31T23:59:59.000Z');
  });

  it('adds days and weeks as whole UTC days, after months', () => {
    expect(iso(addInterval(new Date('2026-03-28T00:00:00Z'), parseInterval('P7D')))).toBe(
      '2026-04-04T00:00:00.000Z',
    );
    expect(iso(addInterval(new Date('2026-01-01T00:00:00Z'), parseInterval('P2W'), 2))).toBe(
      '2026-01-29T00:00:00.000Z',
    );
    // Jan 31 + 1 month = Feb 28, then + 3 days
    expect(iso(addInterval(new Date('2026-01-31T00:00:00Z'), parseInterval('P1M3D')))).toBe(
      '2026-03-03T00:00:00.000Z',
    );
  });

  it('returns the anchor for zero times and refuses negative ones', () => {
    const anchor = new Date('2026-05-05T00:00:00Z');
    expect(iso(addInterval(anchor, monthly, 0))).toBe(iso(anchor));
    expect(() => addInterval(anchor, monthly, -1)).toThrow(RangeError);
  });
});
