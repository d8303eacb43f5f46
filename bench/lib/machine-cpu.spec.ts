import { machineCeilingPerSecond, machineCpuDelta, parseProcStat } from './machine-cpu';
import { machineCpuRows } from '../scenarios/scenario';
import type { ProbeDelta } from './probe-protocol';

const app = (wallMs: number, cpuMs: number): ProbeDelta => ({
  queries: 0,
  cpuMs,
  cpuUserMs: cpuMs,
  cpuSystemMs: 0,
  wallMs,
  rssEndMb: 0,
});

const STAT = [
  'cpu  132349 5 35093 245764 1089 7 3756 11 0 0',
  'cpu0 64725 0 16408 126012 285 0 1375 0 0 0',
  'cpu1 67624 5 18684 119752 803 7 2380 11 0 0',
  'intr 1234',
].join('\n');

describe('parseProcStat (the whole machine from /proc/stat)', () => {
  it('sums user, nice, system, irq and softirq as busy; idle and iowait as idle; counts the cores', () => {
    expect(parseProcStat(STAT)).toEqual({
      busyMs: (132349 + 5 + 35093 + 7 + 3756) * 10,
      idleMs: (245764 + 1089) * 10,
      stealMs: 110,
      cores: 2,
    });
  });

  it('is undefined without a total line, or with too few fields', () => {
    expect(parseProcStat('intr 1\n')).toBeUndefined();
    expect(parseProcStat('cpu  1 2 3\ncpu0 1 2 3\n')).toBeUndefined();
  });
});

describe('machineCeilingPerSecond', () => {
  it('is the rate every core could sustain at the CPU each operation cost', () => {
    // 1,000 operations took 20 s of CPU (20 ms each): 2 cores do 100 a second
    expect(machineCeilingPerSecond({ busyMs: 20_000, idleMs: 0, stealMs: 0, cores: 2 }, 1000)).toBe(100);
    expect(machineCeilingPerSecond({ busyMs: 20_000, idleMs: 0, stealMs: 0, cores: 4 }, 1000)).toBe(200);
  });

  it('has no answer without operations or CPU', () => {
    expect(machineCeilingPerSecond({ busyMs: 0, idleMs: 10, stealMs: 0, cores: 2 }, 10)).toBeUndefined();
    expect(machineCeilingPerSecond({ busyMs: 10, idleMs: 10, stealMs: 0, cores: 2 }, 0)).toBeUndefined();
  });
});

describe('machineCpuRows (where the machine went per operation)', () => {
  const before = parseProcStat('cpu  100 0 100 1000 0 0 0 0 0 0\ncpu0 x\ncpu1 x\n');
  const after = parseProcStat('cpu  1100 0 1100 1400 0 0 0 10 0 0\ncpu0 x\ncpu1 x\n');

  it('splits the busy CPU by process, the rest being the kernel and whatever else shares the host', () => {
    const machine = machineCpuDelta(before, after);
    // 20 s busy over a 12 s phase, 200 operations: 100 ms each, 2 cores sustain 20 a second
    const rows = machineCpuRows(
      {
        value: undefined,
        app: app(12_000, 8_000),
        databaseCpuMs: 5_000,
        emulatorCpuMs: 4_000,
        benchCpuMs: 1_000,
        ...(machine ? { machine } : {}),
      },
      200,
      'purchase',
    );
    expect(rows).toEqual([
      ['machine CPU per purchase (ms)', '100 = app 40 + PostgreSQL 25 + emulators 20 + bench 5 + rest 10'],
      ['machine busy (cores of 2; steal)', '1.67; 0.01'],
      ['ceiling of 2 cores at that CPU (purchases/s)', 20],
    ]);
  });

  it('names what the CPU includes, and leaves the ceiling out when a closed-loop load shares the phase', () => {
    const machine = machineCpuDelta(before, after);
    const rows = machineCpuRows(
      { value: undefined, app: app(12_000, 8_000), ...(machine ? { machine } : {}) },
      200,
      'renewal',
      { note: 'incl. the intake load', ceiling: false },
    );
    expect(rows.map(([label]) => label)).toEqual([
      'machine CPU per renewal (ms, incl. the intake load)',
      'machine busy (cores of 2; steal)',
    ]);
    // the other processes were not measured: their shares and the rest are unknown, the total is not
    expect(rows[0]?.[1]).toBe('100 = app 40 + PostgreSQL ? + emulators ? + bench ? + rest ?');
  });

  it('shows sub-millisecond shares with two decimals', () => {
    const machine = { busyMs: 700, idleMs: 0, stealMs: 0, cores: 2 };
    const rows = machineCpuRows(
      {
        value: undefined,
        app: app(1_000, 290),
        databaseCpuMs: 310,
        emulatorCpuMs: 0,
        benchCpuMs: 60,
        machine,
      },
      1000,
      'webhook',
    );
    expect(rows[0]?.[1]).toBe('0.7 = app 0.29 + PostgreSQL 0.31 + emulators 0 + bench 0.06 + rest 0.04');
  });

  it('prints nothing when the machine was not read', () => {
    expect(machineCpuRows({ value: undefined, app: app(1, 1) }, 10, 'purchase')).toEqual([]);
  });
});
