import { percentile, percentileSorted, ratePerSecond, round, roundSummary, summarize } from './stats';

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100

  it('returns observed values: p50 of 1..100 is 50, p90 is 90, p99 is 99, p100 is the max', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 90)).toBe(90);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
  });

  it('p0 is the minimum', () => {
    expect(percentile([5, 3, 9], 0)).toBe(3);
  });

  it('rounds the rank up (the textbook nearest-rank example)', () => {
    const sample = [15, 20, 35, 40, 50];
    expect(percentile(sample, 5)).toBe(15);
    expect(percentile(sample, 30)).toBe(20);
    expect(percentile(sample, 40)).toBe(20);
    expect(percentile(sample, 50)).toBe(35);
    expect(percentile(sample, 100)).toBe(50);
  });

  it('sorts numerically, not as strings, and leaves the input alone', () => {
    const input = [100, 9, 20, 3];
    expect(percentile(input, 50)).toBe(9);
    expect(percentile(input, 100)).toBe(100);
    expect(input).toEqual([100, 9, 20, 3]);
  });

  it('one value is every percentile', () => {
    expect(percentile([42], 0)).toBe(42);
    expect(percentile([42], 50)).toBe(42);
    expect(percentile([42], 99)).toBe(42);
  });

  it('an empty sample has no percentile (NaN)', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(percentileSorted([], 99)).toBeNaN();
  });

  it('p99 of a long tail picks the tail', () => {
    const sample = [...Array.from({ length: 990 }, () => 10), ...Array.from({ length: 10 }, () => 500)];
    expect(percentile(sample, 99)).toBe(10);
    expect(percentile(sample, 99.1)).toBe(500);
  });

  it('refuses percentiles outside [0, 100]', () => {
    expect(() => percentile([1], -1)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('gives count, min, mean, p50, p90, p99 and max', () => {
    const s = summarize([4, 1, 3, 2, 10]);
    expect(s).toEqual({ count: 5, min: 1, mean: 4, p50: 3, p90: 10, p99: 10, max: 10 });
  });

  it('an empty sample has count 0 and NaN everywhere else', () => {
    const s = summarize([]);
    expect(s.count).toBe(0);
    for (const v of [s.min, s.mean, s.p50, s.p90, s.p99, s.max]) {
      expect(v).toBeNaN();
    }
  });

  it('rounds for display and keeps NaN (JSON writes it as null)', () => {
    expect(roundSummary(summarize([1.234, 2.345]), 1)).toEqual({
      count: 2,
      min: 1.2,
      mean: 1.8,
      p50: 1.2,
      p90: 2.3,
      p99: 2.3,
      max: 2.3,
    });
    expect(JSON.parse(JSON.stringify(roundSummary(summarize([]))))).toMatchObject({ count: 0, p50: null });
  });
});

describe('ratePerSecond and round', () => {
  it('converts counts over milliseconds to a rate', () => {
    expect(ratePerSecond(300, 1500)).toBe(200);
    expect(ratePerSecond(5, 0)).toBe(0);
  });

  it('rounds to the given digits', () => {
    expect(round(1.26, 1)).toBe(1.3);
    expect(round(1234.5, 0)).toBe(1235);
    expect(round(Number.NaN)).toBeNaN();
  });
});
