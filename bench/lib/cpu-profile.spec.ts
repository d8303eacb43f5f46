import { analyseProfile, CpuProfile, packageOf, shortUrl } from './cpu-profile';

const frame = (functionName: string, url = ''): { functionName: string; url: string } => ({
  functionName,
  url,
});

/** root -> a (typeorm) -> b (app), a second `a` node elsewhere in the tree, idle and GC */
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)') },
    {
      id: 2,
      callFrame: frame('query', 'file:///w/node_modules/typeorm/driver/postgres/PostgresQueryRunner.js'),
    },
    { id: 3, callFrame: frame('create', 'file:///w/dist/src/payments/payments.service.js') },
    {
      id: 4,
      callFrame: frame('query', 'file:///w/node_modules/typeorm/driver/postgres/PostgresQueryRunner.js'),
    },
    { id: 5, callFrame: frame('(idle)') },
    { id: 6, callFrame: frame('(garbage collector)') },
    { id: 7, callFrame: frame('emit', 'node:events') },
    { id: 8, callFrame: frame('', 'file:///w/node_modules/@nestjs/core/router/router-execution-context.js') },
  ],
  samples: [2, 2, 4, 3, 5, 5, 5, 6, 7, 8],
  timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
};

describe('analyseProfile', () => {
  it('ranks self time by function + file, adding up the nodes of one function, idle left out', () => {
    const summary = analyseProfile(profile, 15, '/w');
    expect(summary.totalSamples).toBe(7);
    expect(summary.durationMs).toBe(10);
    // the three (idle) samples' milliseconds are not busy time
    expect(summary.busyMs).toBe(7);
    expect(summary.functions[0]).toEqual({
      name: 'typeorm/driver/postgres/PostgresQueryRunner.js:query',
      samples: 3,
      percent: 42.9,
    });
    expect(summary.functions.map((f) => f.name)).toEqual(
      expect.arrayContaining([
        'dist/src/payments/payments.service.js:create',
        '(garbage collector)',
        'node:events:emit',
        '@nestjs/core/router/router-execution-context.js:(anonymous)',
      ]),
    );
    expect(summary.functions.some((f) => f.name === '(idle)')).toBe(false);
  });

  it('groups by package and keeps only the top N', () => {
    const summary = analyseProfile(profile, 2, '/w');
    expect(summary.functions).toHaveLength(2);
    expect(summary.packages[0]).toEqual({ name: 'typeorm', samples: 3, percent: 42.9 });
    const all = analyseProfile(profile, 15, '/w').packages.map((p) => p.name);
    expect(all).toEqual(
      expect.arrayContaining(['app (src)', '@nestjs/core', 'node:internal', '(garbage collector)']),
    );
  });

  it('falls back to hitCount when the profile has no sample list', () => {
    const summary = analyseProfile({
      nodes: [
        { id: 1, callFrame: frame('a', 'file:///x/a.js'), hitCount: 3 },
        { id: 2, callFrame: frame('b', 'file:///x/b.js'), hitCount: 1 },
      ],
    });
    expect(summary.functions.map((f) => [f.name, f.percent])).toEqual([
      ['/x/a.js:a', 75],
      ['/x/b.js:b', 25],
    ]);
  });
});

describe('shortUrl and packageOf', () => {
  it('cuts node_modules and the repository root', () => {
    expect(shortUrl('file:///r/node_modules/pg/lib/client.js', '/r')).toBe('pg/lib/client.js');
    expect(shortUrl('file:///r/dist/src/main.js', '/r')).toBe('dist/src/main.js');
    expect(packageOf('file:///r/node_modules/@nestjs/core/x.js', 'f')).toBe('@nestjs/core');
    expect(packageOf('', '(program)')).toBe('(program)');
    expect(packageOf('', 'writev')).toBe('(native)');
  });
});
