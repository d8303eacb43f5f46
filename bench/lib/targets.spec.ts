import { countVerdicts, evaluateTarget, targetRows } from './targets';

describe('evaluateTarget', () => {
  it('a database-relative minimum: limit = share × rate, ratio = measured / rate', () => {
    const r = evaluateTarget({
      name: 'intake',
      unit: '/s',
      direction: 'min',
      measured: 970,
      relativeTo: { label: 'inserts/s', rate: 6400, share: 0.5 },
    });
    expect(r.limit).toBe(3200);
    expect(r.ratio).toBeCloseTo(970 / 6400, 6);
    expect(r.ratioOf).toBe('database');
    expect(r.verdict).toBe('FAIL');
  });

  it('passes a minimum exactly at the limit and a maximum below it', () => {
    expect(
      evaluateTarget({
        name: 'tps',
        unit: '/s',
        direction: 'min',
        measured: 165,
        relativeTo: { label: 'tpcb', rate: 1650, share: 0.1 },
      }).verdict,
    ).toBe('PASS');
    const cpu = evaluateTarget({ name: 'cpu', unit: 'ms', direction: 'max', measured: 2.5, limit: 3 });
    expect(cpu.verdict).toBe('PASS');
    expect(cpu.ratio).toBeCloseTo(2.5 / 3, 6);
    expect(cpu.ratioOf).toBe('limit');
  });

  it('fails a maximum above the limit', () => {
    expect(evaluateTarget({ name: 'sql', unit: '', direction: 'max', measured: 38, limit: 15 }).verdict).toBe(
      'FAIL',
    );
  });

  it('is n/a without a measurement or without the database rate (--no-db-limit)', () => {
    const noRate = evaluateTarget({
      name: 'tps',
      unit: '/s',
      direction: 'min',
      measured: 30,
      relativeTo: { label: 'tpcb', rate: undefined, share: 0.1 },
    });
    expect(noRate).toMatchObject({ verdict: 'n/a', limit: null, ratio: null, measured: 30 });
    const noValue = evaluateTarget({
      name: 'p99',
      unit: 'ms',
      direction: 'max',
      measured: undefined,
      limit: 25,
    });
    expect(noValue).toMatchObject({ verdict: 'n/a', measured: null, limit: 25 });
    expect(
      evaluateTarget({ name: 'x', unit: '', direction: 'max', measured: Number.NaN, limit: 1 }).verdict,
    ).toBe('n/a');
  });
});

describe('targetRows and countVerdicts', () => {
  it('prints the limit with its direction and the ratio with what it is a ratio of', () => {
    const results = [
      evaluateTarget({
        name: 'intake',
        unit: '/s',
        direction: 'min',
        measured: 970,
        relativeTo: { label: 'inserts/s', rate: 6400, share: 0.5 },
        ceiling: 1010,
      }),
      evaluateTarget({ name: 'cpu', unit: 'ms', direction: 'max', measured: 29, limit: 3 }),
      evaluateTarget({ name: 'p99', unit: 'ms', direction: 'max', measured: undefined, limit: 25 }),
    ];
    expect(targetRows(results)).toEqual([
      ['intake', '970 /s', '≥ 3200 /s', '0.152 × db', 'FAIL', '1010 /s'],
      ['cpu', '29.0 ms', '≤ 3.00 ms', '9.67 × limit', 'FAIL', '-'],
      ['p99', '-', '≤ 25.0 ms', '-', 'n/a', '-'],
    ]);
    expect(countVerdicts(results)).toEqual({ pass: 0, fail: 2, na: 1 });
  });
});
