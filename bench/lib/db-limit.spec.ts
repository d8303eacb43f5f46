import { parsePgbenchTps, pgbenchDatabaseUrl } from './db-limit';

describe('parsePgbenchTps', () => {
  it('reads the tps without the connection time (PostgreSQL 14+ output)', () => {
    const output = [
      'transaction type: <builtin: TPC-B (sort of)>',
      'scaling factor: 10',
      'number of clients: 50',
      'latency average = 29.101 ms',
      'initial connection time = 61.404 ms',
      'tps = 1718.143202 (without initial connection time)',
    ].join('\n');
    expect(parsePgbenchTps(output)).toBeCloseTo(1718.143202, 6);
  });

  it('prefers "excluding connections establishing" in older output', () => {
    const output = [
      'tps = 1601.5 (including connections establishing)',
      'tps = 1650.25 (excluding connections establishing)',
    ].join('\n');
    expect(parsePgbenchTps(output)).toBe(1650.25);
  });

  it('is undefined when there is no tps line', () => {
    expect(parsePgbenchTps('pgbench: error: connection to server failed')).toBeUndefined();
  });
});

describe('pgbenchDatabaseUrl', () => {
  it('puts pgbench beside the bench database', () => {
    expect(pgbenchDatabaseUrl('postgres://u:p@127.0.0.1:5432/wt_bench_bench')).toBe(
      'postgres://u:p@127.0.0.1:5432/wt_bench_bench_pgbench',
    );
  });
});
