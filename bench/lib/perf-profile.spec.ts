import { analysePerfScript, frameOwner } from './perf-profile';

const sample = (tid: number, ...frames: string[]): string =>
  [
    `node  ${tid}   793.683718:    1003009 cpu-clock:ppp: `,
    ...frames.map((f) => `\t    7f1f22abaa44 ${f}`),
  ].join('\n');

describe('perf-profile', () => {
  it('names the owner of a frame: a package (scoped too), an app folder, or none', () => {
    expect(
      frameOwner('JS:*next /work/main/node_modules/router/index.js:189:17+0x1644 (/tmp/perf-1.map)'),
    ).toBe('router');
    expect(frameOwner('JS:*handle /w/node_modules/@nestjs/core/router/x.js:1:1 (/tmp/perf-1.map)')).toBe(
      '@nestjs/core',
    );
    expect(frameOwner('JS:*store /work/main/dist/src/inbox/inbox.service.js:72:16 (/tmp/perf-1.map)')).toBe(
      'app: inbox',
    );
    expect(frameOwner('writev+0x1c ([kernel.kallsyms])')).toBeUndefined();
    expect(frameOwner('JS:*end node:_http_outgoing:1034:45 (/tmp/perf-1.map)')).toBeUndefined();
  });

  it("charges each main-thread sample to its innermost package or app frame; other threads are helpers'", () => {
    const script = [
      // a socket write under pg: pg's
      sample(
        100,
        'do_syscall_64+0x45 ([kernel.kallsyms])',
        'JS:*writev node:internal/stream_base_commons:122 (/tmp/perf-100.map)',
        'JS:*submit /app/node_modules/pg/lib/query.js:151:9 (/tmp/perf-100.map)',
        'JS:*namedQuery /app/dist/src/database/preparing-client.js:28:1 (/tmp/perf-100.map)',
      ),
      sample(100, 'JS:*parse /app/node_modules/pg-protocol/dist/parser.js:26:10 (/tmp/perf-100.map)'),
      sample(100, 'JS:*store /app/dist/src/inbox/inbox.service.js:72:16 (/tmp/perf-100.map)'),
      sample(100, 'v8::internal::Heap::Scavenge+0x12d (/usr/bin/node)'),
      // V8 helper threads
      sample(101, 'v8::internal::ScavengerCollector::JobTask::Run+0x1 (/usr/bin/node)'),
      sample(102, 'v8::internal::Compiler::Compile+0x1 (/usr/bin/node)'),
    ].join('\n\n');
    const summary = analysePerfScript(script, 100);
    expect(summary.mainSamples).toBe(4);
    expect(summary.helperShare).toBeCloseTo(2 / 6);
    expect(summary.owners).toEqual([
      { owner: 'pg', samples: 1, share: 0.25 },
      { owner: 'pg-protocol', samples: 1, share: 0.25 },
      { owner: 'app: inbox', samples: 1, share: 0.25 },
      { owner: 'Node runtime, V8 and the kernel (no package frame)', samples: 1, share: 0.25 },
    ]);
  });
});
