import { quantile } from './gateway-latency';

describe('quantile', () => {
  it('interpolates within the bucket the rank falls in', () => {
    const buckets = new Map([
      [0.1, 50],
      [0.5, 90],
      [1, 100],
      [Infinity, 100],
    ]);
    expect(quantile(0.5, buckets)).toBeCloseTo(0.1);
    expect(quantile(0.7, buckets)).toBeCloseTo(0.3);
    expect(quantile(0.99, buckets)).toBeCloseTo(0.95);
  });

  it('has no answer without calls', () => {
    expect(quantile(0.5, new Map([[Infinity, 0]]))).toBeNull();
  });
});
