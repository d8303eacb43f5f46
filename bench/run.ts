/**
 * `npm run bench` — runs a scenario against the app as its own process: the built artefact
 * (`dist/src/main.js`, NODE_ENV=production, SANDBOX=false, LOG_LEVEL=info) with a probe preloaded that counts
 * its SQL statements and reports its CPU and memory, every vendor URL at the standalone emulators
 * (`dist/sandbox/standalone.js`, another process), on the machine's real PostgreSQL. Beside it, the `db-limit`
 * step measures what PostgreSQL does on the same machine in the same run; each scenario prints issue 11's
 * targets as a ratio to it, with PASS/FAIL.
 *
 *   npm run bench -- --scenario purchase --n 500 --concurrency 50
 *   npm run bench -- --scenario all            # every scenario, db-limit before each one compared with it (~11 min)
 *   npm run bench -- --scenario all --quick    # everything sized down (~1-2 min, CI smoke)
 *   node dist/bench/run.js --help
 *
 * Database: --database-url, else BENCH_DATABASE_URL, else DATABASE_URL, else
 * postgres://postgres@127.0.0.1:5432/connector_bench (created when missing; pgbench uses <name>_pgbench).
 * Exit codes: 0 the run worked (targets may FAIL: see `targets: X/Y PASS`; --strict makes a FAIL exit 1),
 * 1 a scenario had errors or failed an invariant, 2 usage or PostgreSQL unreachable.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { BenchArgs, describeFlags, FlagSpec, parseArgv, UsageError } from './lib/args';
import { BenchDb } from './lib/bench-db';
import { postgresCpu, postgresCpuDelta } from './lib/postgres-cpu';
import { analyseProfile, CpuProfile, ProfileSummary } from './lib/cpu-profile';
import { PerfSummary, perfUnavailable, recordPerf, summarisePerfRecording } from './lib/perf-profile';
import { DatabaseInfo, DatabaseUnavailable, ensureDatabase } from './lib/database';
import { DbLimit, measureDbLimit } from './lib/db-limit';
import { gitInfo, machineInfo, repoRoot } from './lib/env';
import { BenchHttp } from './lib/http';
import { probeDelta } from './lib/probe-protocol';
import { AppProcess, procCpuMs, SandboxProcess, startProcesses } from './lib/processes';
import { machineCpu, machineCpuDelta } from './lib/machine-cpu';
import { log } from './lib/progress';
import { renderKeyValues, renderTable } from './lib/table';
import { countVerdicts, TARGET_HEADERS, targetRows, TargetResult } from './lib/targets';
import { findScenario, SCENARIOS } from './scenarios';
import type { BenchContext, Measured, Scenario, ScenarioResult } from './scenarios/scenario';

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/connector_bench';
const API_KEY = 'sandbox-key';
const OPERATOR_KEY = 'sandbox-operator';
/** Fixed so runs are comparable; the benchmark database holds sandbox data only. */
const ENCRYPTION_KEY = Buffer.alloc(32, 11).toString('base64');

const RUNNER_FLAGS: FlagSpec[] = [
  {
    name: 'scenario',
    kind: 'string',
    default: 'purchase',
    help: 'which scenario to run: a name, "all" (every scenario, the db-limit step again before each one compared with it) or "db-limit"',
  },
  {
    name: 'database-url',
    kind: 'string',
    help: `PostgreSQL URL (else BENCH_DATABASE_URL, DATABASE_URL, ${DEFAULT_DATABASE_URL})`,
  },
  { name: 'reset-db', kind: 'bool', default: false, help: 'drop and recreate the benchmark database first' },
  { name: 'out', kind: 'string', help: 'folder for the results JSON (default bench/results)' },
  {
    name: 'app-env',
    kind: 'list',
    help: 'extra app environment, repeatable: --app-env DATABASE_POOL_SIZE=20',
  },
  {
    name: 'request-timeout-ms',
    kind: 'int',
    default: 30_000,
    min: 100,
    help: 'timeout of each HTTP request',
  },
  {
    name: 'no-db-limit',
    kind: 'bool',
    default: false,
    help: 'skip the db-limit step (targets relative to it: n/a)',
  },
  {
    name: 'db-limit-seconds',
    kind: 'int',
    default: 8,
    min: 1,
    help: 'db-limit: seconds of single-row inserts',
  },
  { name: 'pgbench-seconds', kind: 'int', default: 10, min: 1, help: 'db-limit: seconds of TPC-B-like load' },
  { name: 'pgbench-scale', kind: 'int', default: 10, min: 1, help: 'db-limit: pgbench scale factor' },
  {
    name: 'db-limit-clients',
    kind: 'int',
    min: 1,
    help: 'db-limit: client connections (default the scenario concurrency; 50 with --scenario all)',
  },
  {
    name: 'cpu-prof',
    kind: 'bool',
    default: false,
    help: 'CPU-profile the app during each measured phase; print the top 15 self-time functions',
  },
  {
    name: 'perf',
    kind: 'bool',
    default: false,
    help: "on-CPU profile of the app's measured phases with Linux perf (V8's is by wall clock): shares by package; perf's own CPU shares the machine, so read the shares, not the targets",
  },
  {
    name: 'quick',
    kind: 'bool',
    default: false,
    help: 'size everything down (~1-2 minutes in all): CI smoke run',
  },
  { name: 'strict', kind: 'bool', default: false, help: 'exit 1 when any target FAILs' },
  { name: 'keep-logs', kind: 'bool', default: false, help: 'keep the app and emulator logs (path printed)' },
  { name: 'list', kind: 'bool', default: false, help: 'list the scenarios and exit' },
  { name: 'help', kind: 'bool', default: false, help: 'show this help and exit' },
];

const QUICK_RUNNER: Record<string, number> = { 'db-limit-seconds': 3, 'pgbench-seconds': 4 };

function usage(): string {
  const parts = [
    'usage: npm run bench -- [--scenario <name>|all|db-limit] [flags]   (or: node dist/bench/run.js [flags])',
    'Every flag can also be set as BENCH_<FLAG> in the environment, e.g. BENCH_N=1000.',
    '',
    'runner flags:',
    describeFlags(RUNNER_FLAGS),
  ];
  for (const s of SCENARIOS) {
    parts.push('', `scenario "${s.name}": ${s.description}`, describeFlags(s.flags));
  }
  return parts.join('\n');
}

function appEnvOverrides(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new UsageError(`--app-env expects KEY=VALUE, got "${pair}"`);
    }
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** Flag specs with the --quick defaults swapped in. */
function sized(
  specs: readonly FlagSpec[],
  quick: boolean,
  overrides: Record<string, number | string>,
): FlagSpec[] {
  return specs.map((s) =>
    quick && overrides[s.name] !== undefined ? { ...s, default: overrides[s.name] } : s,
  );
}

function renderProfile(profile: ProfileSummary, title: string): string {
  const cpuMs = profile.mainThreadCpuMs;
  const waited =
    cpuMs !== undefined && profile.busyMs > cpuMs
      ? [
          `sampled busy ${profile.busyMs} ms, main thread on a CPU ${Math.round(cpuMs)} ms (/proc): V8 samples by wall ` +
            `clock, so ${Math.round(((profile.busyMs - cpuMs) / profile.busyMs) * 100)} % of these samples are time ` +
            'the thread waited for a core, counted in the frame that waited (mostly `writev`: the socket write that ' +
            'woke PostgreSQL or a peer); `perf` gives on-CPU time',
          '',
        ]
      : [];
  return [
    ...waited,
    renderTable(
      ['self time', 'samples', 'function (file:function)'],
      profile.functions.map((f) => [`${f.percent}%`, f.samples, f.name]),
      {
        title: `${title}: top ${profile.functions.length} functions by self time (${profile.totalSamples} samples)`,
      },
    ),
    '',
    renderTable(
      ['self time', 'package'],
      profile.packages.map((p) => [`${p.percent}%`, p.name]),
      { title: `${title}: self time by package` },
    ),
  ].join('\n');
}

function printResult(scenario: Scenario, result: ScenarioResult): void {
  const out: string[] = ['', result.headline, '', renderKeyValues(result.summary)];
  for (const table of result.tables) {
    out.push('', renderTable(table.headers, table.rows, { title: table.title }));
  }
  if (result.targets.length > 0) {
    out.push(
      '',
      renderTable(TARGET_HEADERS, targetRows(result.targets), { title: `targets (${scenario.name})` }),
    );
  }
  if (result.profile) {
    out.push('', renderProfile(result.profile, `app CPU profile (${scenario.name}, measured phase)`));
  }
  if (result.errors.length > 0) {
    out.push('', `first errors (${scenario.name}):`, ...result.errors.slice(0, 5).map((e) => `  - ${e}`));
  }
  out.push('', result.ok ? 'result: OK' : 'result: FAILED (errors or an invariant did not hold)');
  process.stdout.write(`${out.join('\n')}\n`);
}

/** The `--perf` table of one measured phase, printed as soon as the phase ends. */
function printPerf(scenario: string, label: string, summary: PerfSummary): void {
  if (summary.mainSamples === 0) {
    log(
      `${scenario}: perf recorded no sample of the app in "${label}" (is kernel.perf_event_paranoid above 2?)`,
    );
    return;
  }
  process.stdout.write(
    `\n${renderTable(
      ['share', 'samples', "owner (innermost package or app frame; a socket write is its writer's)"],
      summary.owners.map((o) => [`${(o.share * 100).toFixed(1)}%`, o.samples, o.owner]),
      {
        title:
          `app on-CPU profile (perf, ${scenario} "${label}"): main thread, ${summary.mainSamples} samples at 997 Hz; ` +
          `the other threads (GC, JIT, libuv) took ${(summary.helperShare * 100).toFixed(1)} % of the process's`,
      },
    )}\n`,
  );
}

function printDbLimit(limit: DbLimit): void {
  process.stdout.write(
    `\n${renderKeyValues([
      [
        'single-row inserts/s (inbox_events shape, autocommit)',
        `${limit.insertsPerSecond} (${limit.insertMethod}, ${limit.insertClients} clients, ${limit.insertSeconds} s)`,
      ],
      [
        'TPC-B-like tx/s',
        `${limit.tpcbPerSecond} (${limit.tpcbMethod}, ${limit.tpcbClients} clients, ${limit.tpcbSeconds} s, scale ${limit.scale})`,
      ],
    ])}\n`,
  );
}

function withoutSwitches<T extends Record<string, unknown>>(snapshot: T): Omit<T, 'help' | 'list'> {
  const { help: _help, list: _list, ...rest } = snapshot;
  return rest;
}

/** A phase label as part of a file name: `GET /health` would otherwise name a folder that does not exist. */
function fileLabel(label: string): string {
  return label.replace(/[^A-Za-z0-9._-]+/g, '_');
}

function fileTimestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/:/g, '-');
}

interface Run {
  root: string;
  databaseUrl: string;
  database: DatabaseInfo;
  outDir: string;
  appEnvFlags: Record<string, string>;
  interrupted: AbortController;
}

interface ScenarioOutcome {
  ok: boolean;
  targets: TargetResult[];
}

async function runScenario(
  run: Run,
  scenario: Scenario,
  args: BenchArgs,
  dbLimit: DbLimit | undefined,
): Promise<ScenarioOutcome> {
  const extraEnv = { ...scenario.appEnv?.(args), ...run.appEnvFlags };
  const dataDir = mkdtempSync(join(tmpdir(), 'connector-bench-data-'));
  const logDir = mkdtempSync(join(tmpdir(), 'connector-bench-logs-'));
  const profileDir = mkdtempSync(join(tmpdir(), 'connector-bench-prof-'));
  const cpuProf = args.bool('cpu-prof');
  const perf = args.bool('perf');
  const startedAt = new Date();
  const appStart = performance.now();
  let processes: { app: AppProcess; sandbox: SandboxProcess };
  try {
    processes = await startProcesses({
      root: run.root,
      databaseUrl: run.databaseUrl,
      dataDir,
      logDir,
      encryptionKey: ENCRYPTION_KEY,
      extraEnv,
      perfMap: perf,
    });
  } catch (err) {
    process.stderr.write(
      `bench: the app did not start (logs in ${logDir}): ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return { ok: false, targets: [] };
  }
  const { app, sandbox } = processes;
  const appStartMs = performance.now() - appStart;
  log(
    `${scenario.name}: app pid ${app.pid} on ${app.url}, emulators pid ${sandbox.pid} on ${sandbox.url} (${Math.round(appStartMs)} ms)` +
      `, app NODE_OPTIONS ${app.env.NODE_OPTIONS ?? '(none)'}`,
  );
  const db = new BenchDb(run.databaseUrl);
  const stop = async (): Promise<void> => {
    await app.stop().catch((err: unknown) => log(`stopping the app failed: ${String(err)}`));
    if (perf) {
      // --perf-basic-prof's symbol map (always in /tmp) grows with every function the JIT compiles
      rmSync(`/tmp/perf-${app.pid}.map`, { force: true });
    }
    await sandbox.stop().catch((err: unknown) => log(`stopping the emulators failed: ${String(err)}`));
    await db.close().catch(() => undefined);
  };

  let profileCount = 0;
  const ctx: BenchContext = {
    runId: randomUUID(),
    args,
    app,
    baseUrl: app.url,
    http: new BenchHttp(app.url, { 'X-Api-Key': API_KEY }, args.int('request-timeout-ms')),
    sandbox: new BenchHttp(sandbox.url, {}, args.int('request-timeout-ms')),
    operatorKey: OPERATOR_KEY,
    db,
    databaseUrl: run.databaseUrl,
    dbLimit,
    log: (message) => log(message),
    signal: run.interrupted.signal,
    async measure<T>(label: string, phase: () => Promise<T>): Promise<Measured<T>> {
      await db.checkpoint();
      const before = cpuProf ? await app.profileStart() : await app.probe();
      // the main thread's own CPU, beside the profile's wall-clock samples (only a profile needs it)
      const mainThreadBefore = cpuProf ? procCpuMs(app.pid, app.pid) : undefined;
      const emulatorBefore = sandbox.cpuMsFromProc();
      const machineBefore = machineCpu();
      const benchBefore = process.cpuUsage();
      const databaseBefore = await postgresCpu(db);
      const profileNumber = (profileCount += 1);
      const perfFile = join(profileDir, `${scenario.name}-${fileLabel(label)}-${profileNumber}.perf.data`);
      const recording = perf ? recordPerf(app.pid, perfFile) : undefined;
      const value = await phase();
      await recording?.stop();
      const emulatorAfter = sandbox.cpuMsFromProc();
      const benchUsage = process.cpuUsage(benchBefore);
      const machineDelta = machineCpuDelta(machineBefore, machineCpu());
      const databaseCpuMs = postgresCpuDelta(databaseBefore, await postgresCpu(db));
      const file = join(profileDir, `${scenario.name}-${fileLabel(label)}-${profileNumber}.cpuprofile`);
      const after = cpuProf ? await app.profileStop(file) : await app.probe();
      const mainThreadAfter = cpuProf ? procCpuMs(app.pid, app.pid) : undefined;
      const delta = probeDelta(before, after);
      const emulatorCpuMs =
        emulatorBefore !== undefined && emulatorAfter !== undefined
          ? emulatorAfter - emulatorBefore
          : undefined;
      log(
        `${scenario.name}: "${label}" took ${(delta.wallMs / 1000).toFixed(1)} s; app CPU ${Math.round(delta.cpuMs)} ms ` +
          `(${(delta.cpuMs / delta.wallMs).toFixed(2)} of a core), ${delta.queries} SQL statements; emulators CPU ` +
          `${emulatorCpuMs === undefined ? '?' : `${Math.round(emulatorCpuMs)} ms (${(emulatorCpuMs / delta.wallMs).toFixed(2)} of a core)`}; ` +
          `PostgreSQL CPU ${databaseCpuMs === undefined ? '? (not on this machine)' : `${Math.round(databaseCpuMs)} ms (${(databaseCpuMs / delta.wallMs).toFixed(2)} of a core)`}`,
      );
      if (recording) {
        printPerf(scenario.name, label, await summarisePerfRecording(perfFile, app.pid));
      }
      const others = {
        benchCpuMs: (benchUsage.user + benchUsage.system) / 1000,
        ...(machineDelta ? { machine: machineDelta } : {}),
        ...(emulatorCpuMs !== undefined ? { emulatorCpuMs } : {}),
        ...(databaseCpuMs !== undefined ? { databaseCpuMs } : {}),
      };
      if (!cpuProf) {
        return { value, app: delta, ...others };
      }
      const profile = {
        ...analyseProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, 15, run.root),
        ...(mainThreadBefore !== undefined && mainThreadAfter !== undefined
          ? { mainThreadCpuMs: mainThreadAfter - mainThreadBefore }
          : {}),
      };
      const keep = join(
        run.outDir,
        `${scenario.name}-${fileLabel(label)}-${fileTimestamp(startedAt)}.cpuprofile`,
      );
      mkdirSync(run.outDir, { recursive: true });
      writeFileSync(keep, readFileSync(file));
      log(`${scenario.name}: CPU profile of "${label}" in ${relative(process.cwd(), keep) || keep}`);
      return { value, app: delta, profile, ...others };
    },
  };

  let result: ScenarioResult;
  try {
    result = await scenario.run(ctx);
  } catch (err) {
    process.stderr.write(
      `bench: scenario "${scenario.name}" aborted (logs in ${logDir}): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    await stop();
    return { ok: false, targets: [] };
  }
  const finishedAt = new Date();
  await stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(profileDir, { recursive: true, force: true });
  if (result.ok && !args.bool('keep-logs')) {
    rmSync(logDir, { recursive: true, force: true });
  } else {
    log(`${scenario.name}: app and emulator logs in ${logDir}`);
  }

  printResult(scenario, result);
  const file = join(run.outDir, `${scenario.name}-${fileTimestamp(startedAt)}.json`);
  const report = {
    scenario: scenario.name,
    description: scenario.description,
    ok: result.ok,
    runId: ctx.runId,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    headline: result.headline,
    summary: Object.fromEntries(result.summary),
    targets: result.targets,
    dbLimit: dbLimit ?? null,
    profile: result.profile ?? null,
    result: result.data,
    errors: result.errors,
    args: withoutSwitches(args.snapshot()),
    appEnv: extraEnv,
    app: {
      startMs: Math.round(appStartMs),
      mode: 'NODE_ENV=production SANDBOX=false LOG_LEVEL=info, own process',
    },
    database: { ...run.database, poolSize: extraEnv.DATABASE_POOL_SIZE ?? 'app default' },
    machine: machineInfo(),
    git: gitInfo(run.root),
  };
  try {
    mkdirSync(run.outDir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`results: ${relative(process.cwd(), file) || file}\n`);
  } catch (err) {
    log(`could not write ${file}: ${String(err)}`);
    return { ok: false, targets: result.targets };
  }
  return { ok: result.ok, targets: result.targets };
}

async function main(): Promise<number> {
  let runnerArgs: BenchArgs;
  let scenarios: Scenario[];
  let raw: ReturnType<typeof parseArgv>;
  let appEnvFlags: Record<string, string>;
  let name: string;
  try {
    raw = parseArgv(process.argv.slice(2));
    const quick = new BenchArgs(raw, RUNNER_FLAGS).bool('quick');
    runnerArgs = new BenchArgs(raw, sized(RUNNER_FLAGS, quick, QUICK_RUNNER));
    if (runnerArgs.bool('help')) {
      process.stdout.write(`${usage()}\n`);
      return 0;
    }
    if (runnerArgs.bool('list')) {
      process.stdout.write(
        `${['db-limit  PostgreSQL single-row insert and TPC-B-like rates on this machine', ...SCENARIOS.map((s) => `${s.name}  ${s.description}`)].join('\n')}\n`,
      );
      return 0;
    }
    name = runnerArgs.string('scenario');
    if (name === 'all') {
      scenarios = [...SCENARIOS];
    } else if (name === 'db-limit') {
      scenarios = [];
    } else {
      const found = findScenario(name);
      if (!found) {
        throw new UsageError(
          `unknown scenario "${name}" (known: all, db-limit, ${SCENARIOS.map((s) => s.name).join(', ')})`,
        );
      }
      scenarios = [found];
    }
    const known = new BenchArgs(raw, [...RUNNER_FLAGS, ...scenarios.flatMap((s) => s.flags)]);
    known.checkKnown();
    for (const s of scenarios) {
      // read every flag once now, so a bad value is refused before anything starts
      new BenchArgs(raw, [...RUNNER_FLAGS, ...s.flags]).snapshot();
    }
    appEnvFlags = appEnvOverrides(runnerArgs.list('app-env'));
    const noPerf = runnerArgs.bool('perf') ? perfUnavailable() : undefined;
    if (noPerf) {
      throw new UsageError(`--perf: ${noPerf}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`bench: ${err.message}\n\n${usage()}\n`);
      return 2;
    }
    throw err;
  }
  const quick = runnerArgs.bool('quick');
  const scenarioArgs = (s: Scenario): BenchArgs =>
    new BenchArgs(raw, sized([...RUNNER_FLAGS, ...s.flags], quick, { ...QUICK_RUNNER, ...s.quick }));

  const root = repoRoot();
  const databaseUrl =
    runnerArgs.optionalString('database-url') ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  let database: DatabaseInfo;
  try {
    database = await ensureDatabase(databaseUrl, { reset: runnerArgs.bool('reset-db') });
  } catch (err) {
    if (err instanceof DatabaseUnavailable) {
      process.stderr.write(
        `bench: PostgreSQL is not available: ${err.message}\n` +
          'The benchmarks run on a real PostgreSQL server (never the embedded one). Start PostgreSQL, or point\n' +
          '--database-url / BENCH_DATABASE_URL / DATABASE_URL at a server where the user may create databases.\n',
      );
      return 2;
    }
    throw err;
  }
  log(
    `database ${database.url} (PostgreSQL ${database.serverVersion}${database.created ? ', created' : ''})`,
  );

  const interrupted = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted.signal.aborted) {
      process.exit(130);
    }
    log(`${signal}: stopping the scenario (again to force)`);
    interrupted.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const run: Run = {
    root,
    databaseUrl,
    database,
    outDir: runnerArgs.optionalString('out') ?? join(root, 'bench', 'results'),
    appEnvFlags,
    interrupted,
  };

  // the db-limit step: printed; undefined when it failed (the run stops)
  const dbLimitStep = async (): Promise<DbLimit | undefined> => {
    const first = scenarios[0];
    const clients =
      runnerArgs.has('db-limit-clients') || !first || scenarios.length > 1
        ? runnerArgs.has('db-limit-clients')
          ? runnerArgs.int('db-limit-clients')
          : 50
        : first.concurrency(scenarioArgs(first));
    try {
      const limit = await measureDbLimit({
        databaseUrl,
        clients,
        insertSeconds: runnerArgs.int('db-limit-seconds'),
        tpcbSeconds: runnerArgs.int('pgbench-seconds'),
        scale: runnerArgs.int('pgbench-scale'),
        log,
      });
      printDbLimit(limit);
      return limit;
    } catch (err) {
      process.stderr.write(`bench: db-limit failed: ${err instanceof Error ? err.message : String(err)}\n`);
      return undefined;
    }
  };
  const limitOn = name === 'db-limit' || !runnerArgs.bool('no-db-limit');
  let dbLimit: DbLimit | undefined;
  if (limitOn) {
    dbLimit = await dbLimitStep();
    if (!dbLimit) {
      return 1;
    }
    if (name === 'db-limit') {
      mkdirSync(run.outDir, { recursive: true });
      const file = join(run.outDir, `db-limit-${fileTimestamp(new Date())}.json`);
      writeFileSync(file, `${JSON.stringify({ dbLimit, machine: machineInfo(), database }, null, 2)}\n`);
      process.stdout.write(`results: ${relative(process.cwd(), file) || file}\n`);
      return 0;
    }
  }

  let ok = true;
  const all: { scenario: string; target: TargetResult }[] = [];
  for (const [i, scenario] of scenarios.entries()) {
    if (interrupted.signal.aborted) {
      break;
    }
    // a shared host's speed drifts within minutes: a ratio compares with the limit measured just before its scenario
    if (limitOn && i > 0 && scenario.relativeToDbLimit) {
      dbLimit = await dbLimitStep();
      if (!dbLimit) {
        return 1;
      }
    }
    const outcome = await runScenario(run, scenario, scenarioArgs(scenario), dbLimit);
    ok &&= outcome.ok;
    all.push(...outcome.targets.map((target) => ({ scenario: scenario.name, target })));
  }
  const targets = all.map((t) => t.target);
  if (scenarios.length > 1) {
    process.stdout.write(
      `\n${renderTable(
        ['scenario', ...TARGET_HEADERS],
        targetRows(targets).map((row, i) => [all[i]?.scenario ?? '', ...row]),
        { title: 'all targets' },
      )}\n`,
    );
  }
  const verdicts = countVerdicts(targets);
  process.stdout.write(
    `targets: ${verdicts.pass}/${targets.length} PASS${verdicts.fail ? `, ${verdicts.fail} FAIL` : ''}${verdicts.na ? `, ${verdicts.na} n/a` : ''}\n`,
  );
  if (interrupted.signal.aborted) {
    return 130;
  }
  if (!ok) {
    return 1;
  }
  return runnerArgs.bool('strict') && verdicts.fail > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
    // keep-alive sockets or a stray timer must not keep a finished benchmark alive
    setTimeout(() => process.exit(code), 2_000).unref();
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
