import { postgresCpuDelta } from './postgres-cpu';

describe('postgresCpuDelta', () => {
  it('sums each process growth, counts a new process from 0 and leaves out one that ended', () => {
    const before = new Map([
      [10, 1_000],
      [11, 500],
      [12, 300],
    ]);
    const after = new Map([
      [10, 1_600],
      [11, 500],
      [13, 250],
    ]);
    expect(postgresCpuDelta(before, after)).toBe(600 + 0 + 250);
  });

  it('is unknown without both readings', () => {
    expect(postgresCpuDelta(undefined, new Map([[1, 5]]))).toBeUndefined();
    expect(postgresCpuDelta(new Map([[1, 5]]), undefined)).toBeUndefined();
  });
});
