/**
 * `npm run bench` — starts the whole app (sandbox emulators included) on the machine's real
 * PostgreSQL, runs one scenario, prints a table and writes `bench/results/<scenario>-<time>.json`.
 *
 *   npm run bench -- --scenario purchase --n 500 --concurrency 20 --gateway-latency-ms 50
 *   node dist/bench/run.js --help
 *
 * Database: --database-url, else BENCH_DATABASE_URL, else DATABASE_URL, else
 * postgres://postgres@127.0.0.1:5432/connector_bench (created when missing).
 * Exit codes: 0 ok, 1 the scenario had errors or failed an invariant, 2 usage or PostgreSQL unreachable.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { DataSource } from 'typeorm';
import { RunningApp, startApp } from '../src/bootstrap';
import { BenchArgs, describeFlags, FlagSpec, parseArgv, UsageError } from './lib/args';
import { DatabaseInfo, DatabaseUnavailable, ensureDatabase, maskUrl } from './lib/database';
import { freePort, gitInfo, machineInfo, repoRoot } from './lib/env';
import { BenchHttp } from './lib/http';
import { RssSampler } from './lib/memory';
import { log } from './lib/progress';
import { renderKeyValues, renderTable } from './lib/table';
import { findScenario, SCENARIOS } from './scenarios';
import type { BenchContext, Scenario, ScenarioResult } from './scenarios/scenario';

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/connector_bench';
const API_KEY = 'sandbox-key';
const OPERATOR_KEY = 'sandbox-operator';
/** Fixed so runs are comparable; the benchmark database holds sandbox data only. */
const ENCRYPTION_KEY = Buffer.alloc(32, 11).toString('base64');

const RUNNER_FLAGS: FlagSpec[] = [
  { name: 'scenario', kind: 'string', default: 'purchase', help: 'which scenario to run' },
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
  { name: 'list', kind: 'bool', default: false, help: 'list the scenarios and exit' },
  { name: 'help', kind: 'bool', default: false, help: 'show this help and exit' },
];

function usage(): string {
  const parts = [
    'usage: npm run bench -- [--scenario <name>] [flags]   (or: node dist/bench/run.js [flags])',
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

function printResult(scenario: Scenario, result: ScenarioResult): void {
  const out: string[] = ['', result.headline, '', renderKeyValues(result.summary)];
  for (const table of result.tables) {
    out.push('', renderTable(table.headers, table.rows, { title: table.title }));
  }
  if (result.errors.length > 0) {
    out.push('', `first errors (${scenario.name}):`, ...result.errors.slice(0, 5).map((e) => `  - ${e}`));
  }
  out.push('', result.ok ? 'result: OK' : 'result: FAILED (errors or an invariant did not hold)');
  process.stdout.write(`${out.join('\n')}\n`);
}

function withoutSwitches<T extends Record<string, unknown>>(snapshot: T): Omit<T, 'help' | 'list'> {
  const { help: _help, list: _list, ...rest } = snapshot;
  return rest;
}

function fileTimestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/:/g, '-');
}

async function main(): Promise<number> {
  let args: BenchArgs;
  let scenario: Scenario;
  let appEnvFlags: Record<string, string>;
  try {
    const raw = parseArgv(process.argv.slice(2));
    const runnerArgs = new BenchArgs(raw, RUNNER_FLAGS);
    if (runnerArgs.bool('help')) {
      process.stdout.write(`${usage()}\n`);
      return 0;
    }
    if (runnerArgs.bool('list')) {
      process.stdout.write(`${SCENARIOS.map((s) => `${s.name}  ${s.description}`).join('\n')}\n`);
      return 0;
    }
    const name = runnerArgs.string('scenario');
    const found = findScenario(name);
    if (!found) {
      throw new UsageError(`unknown scenario "${name}" (known: ${SCENARIOS.map((s) => s.name).join(', ')})`);
    }
    scenario = found;
    args = new BenchArgs(raw, [...RUNNER_FLAGS, ...scenario.flags]);
    args.checkKnown();
    // read every flag once now, so a bad value is refused before anything starts
    args.snapshot();
    appEnvFlags = appEnvOverrides(args.list('app-env'));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`bench: ${err.message}\n\n${usage()}\n`);
      return 2;
    }
    throw err;
  }

  const root = repoRoot();
  const databaseUrl = args.optionalString('database-url') ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  let database: DatabaseInfo;
  try {
    database = await ensureDatabase(databaseUrl, { reset: args.bool('reset-db') });
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

  const extraEnv = { ...scenario.appEnv?.(args), ...appEnvFlags };
  const dataDir = mkdtempSync(join(tmpdir(), 'connector-bench-'));
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const runRss = new RssSampler(50).start();
  const startedAt = new Date();
  const appStart = performance.now();
  let running: RunningApp;
  try {
    running = await startApp({
      NODE_ENV: 'development',
      PORT: String(port),
      PUBLIC_URL: baseUrl,
      DATABASE_URL: databaseUrl,
      DATA_DIR: dataDir,
      SANDBOX: 'true',
      LOG_LEVEL: 'silent',
      ENCRYPTION_KEY,
      API_KEYS: API_KEY,
      OPERATOR_KEY,
      // the benchmark measures throughput, not the per-caller rate limit
      RATE_LIMIT_PER_MINUTE: '10000000',
      ...extraEnv,
    });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    process.stderr.write(
      `bench: the app did not start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return 1;
  }
  const appStartMs = performance.now() - appStart;
  log(`app started on ${baseUrl} in ${Math.round(appStartMs)} ms (${maskUrl(databaseUrl)})`);

  let closing: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    closing ??= running
      .close()
      .catch((err: unknown) => log(`closing the app failed: ${String(err)}`))
      .finally(() => rmSync(dataDir, { recursive: true, force: true }));
    return closing;
  };
  const interrupted = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted.signal.aborted) {
      process.exit(130);
    }
    log(`${signal}: stopping the scenario and closing the app (again to force)`);
    interrupted.abort();
    void shutdown().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const ctx: BenchContext = {
    runId: randomUUID(),
    args,
    app: running,
    baseUrl,
    http: new BenchHttp(baseUrl, { 'X-Api-Key': API_KEY }, args.int('request-timeout-ms')),
    operatorKey: OPERATOR_KEY,
    db: running.app.get(DataSource),
    log: (message) => log(message),
    signal: interrupted.signal,
  };

  let result: ScenarioResult;
  try {
    result = await scenario.run(ctx);
  } catch (err) {
    process.stderr.write(
      `bench: scenario "${scenario.name}" aborted: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    await shutdown();
    return 1;
  }
  const finishedAt = new Date();
  const runMemory = runRss.stop();
  await shutdown();

  printResult(scenario, result);
  const outDir = args.optionalString('out') ?? join(root, 'bench', 'results');
  const file = join(outDir, `${scenario.name}-${fileTimestamp(startedAt)}.json`);
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
    result: result.data,
    errors: result.errors,
    args: withoutSwitches(args.snapshot()),
    appEnv: extraEnv,
    app: { startMs: Math.round(appStartMs), peakRssWholeRunMb: runMemory.peakMb },
    database: { ...database, poolSize: extraEnv.DATABASE_POOL_SIZE ?? 'app default' },
    machine: machineInfo(),
    git: gitInfo(root),
  };
  try {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`results: ${relative(process.cwd(), file) || file}\n`);
  } catch (err) {
    log(`could not write ${file}: ${String(err)}`);
    return 1;
  }
  return result.ok ? 0 : 1;
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
