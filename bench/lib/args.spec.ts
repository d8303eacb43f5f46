import { BenchArgs, FlagSpec, parseArgv, UsageError } from './args';

const SPECS: FlagSpec[] = [
  { name: 'scenario', kind: 'string', default: 'purchase', help: '' },
  { name: 'n', kind: 'int', default: 300, min: 1, help: '' },
  { name: 'ratio', kind: 'number', help: '' },
  { name: 'reset-db', kind: 'bool', default: false, help: '' },
  { name: 'app-env', kind: 'list', help: '' },
];

const argsOf = (argv: string[], env: Record<string, string> = {}): BenchArgs =>
  new BenchArgs(parseArgv(argv), SPECS, env);

describe('BenchArgs', () => {
  it('reads --flag value, --flag=value and bare switches; defaults otherwise', () => {
    const args = argsOf(['--n', '1_000', '--scenario=webhooks', '--reset-db']);
    expect(args.int('n')).toBe(1000);
    expect(args.string('scenario')).toBe('webhooks');
    expect(args.bool('reset-db')).toBe(true);
    expect(argsOf([]).int('n')).toBe(300);
    expect(argsOf([]).bool('reset-db')).toBe(false);
  });

  it('takes BENCH_* environment variables, the command line winning', () => {
    expect(argsOf([], { BENCH_N: '50', BENCH_RESET_DB: 'true' }).int('n')).toBe(50);
    expect(argsOf([], { BENCH_RESET_DB: 'true' }).bool('reset-db')).toBe(true);
    expect(argsOf(['--n', '7'], { BENCH_N: '50' }).int('n')).toBe(7);
  });

  it('collects repeated list flags', () => {
    expect(argsOf(['--app-env', 'A=1', '--app-env', 'B=2']).list('app-env')).toEqual(['A=1', 'B=2']);
    expect(argsOf([], { BENCH_APP_ENV: 'A=1,B=2' }).list('app-env')).toEqual(['A=1', 'B=2']);
  });

  it('refuses bad values, unknown flags and stray arguments', () => {
    expect(() => argsOf(['--n', 'many']).int('n')).toThrow(UsageError);
    expect(() => argsOf(['--n', '0']).int('n')).toThrow(/at least 1/);
    expect(() => argsOf(['--n', '1.5']).int('n')).toThrow(/integer/);
    expect(() => argsOf(['--ratio']).number('ratio')).toThrow(/needs a value/);
    expect(() => argsOf(['--typo', '3']).checkKnown()).toThrow(/unknown flag: --typo/);
    expect(() => parseArgv(['purchase'])).toThrow(UsageError);
  });

  it('snapshots every declared flag for the results file', () => {
    expect(argsOf(['--ratio', '0.5']).snapshot()).toEqual({
      scenario: 'purchase',
      n: 300,
      ratio: 0.5,
      'reset-db': false,
      'app-env': [],
    });
  });
});
