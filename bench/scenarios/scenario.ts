import type { BenchArgs, FlagSpec } from '../lib/args';
import type { BenchDb } from '../lib/bench-db';
import type { ProfileSummary } from '../lib/cpu-profile';
import type { DbLimit } from '../lib/db-limit';
import { machineCeilingPerSecond, type MachineCpu } from '../lib/machine-cpu';
import type { BenchHttp } from '../lib/http';
import type { ProbeDelta } from '../lib/probe-protocol';
import type { AppProcess } from '../lib/processes';
import { round } from '../lib/stats';
import type { Cell } from '../lib/table';
import type { TargetResult } from '../lib/targets';

/** A measured phase: what the app spent on it (probe before/after) and, with --cpu-prof, where. */
export interface Measured<T> {
  value: T;
  app: ProbeDelta;
  /** CPU the emulators' process used meanwhile (ms; /proc), to see whether the stand-ins were the bottleneck */
  emulatorCpuMs?: number;
  /** CPU PostgreSQL's processes used meanwhile (ms; /proc), when the server runs on this machine */
  databaseCpuMs?: number;
  /** CPU the bench's own process used meanwhile (ms): the load generator and its probes */
  benchCpuMs?: number;
  /** the whole machine meanwhile (/proc/stat): every process, the kernel, anything else on a shared host */
  machine?: MachineCpu;
  profile?: ProfileSummary;
}

/** PostgreSQL's CPU per operation in a measured phase (ms), or '-' when the server is not on this machine. */
export function databaseCpuPer(measured: Measured<unknown>, operations: number): number | '-' {
  return measured.databaseCpuMs === undefined
    ? '-'
    : round(measured.databaseCpuMs / Math.max(1, operations), 2);
}

/** `machineCeilingPerSecond` of a measured phase, for a throughput target's `ceiling`; undefined off Linux. */
export function machineCeiling(measured: Measured<unknown>, operations: number): number | undefined {
  return measured.machine ? machineCeilingPerSecond(measured.machine, operations) : undefined;
}

/**
 * Where the whole machine's CPU went per operation in a measured phase, and the rate its cores could sustain at that
 * cost (`machineCeiling`): a throughput target above the ceiling needs less CPU per operation from someone (the app,
 * PostgreSQL, the emulators, the bench) or more cores, not more concurrency. No rows off Linux.
 */
export function machineCpuRows(
  measured: Measured<unknown>,
  operations: number,
  unit: string,
  /**
   * `note`: what the CPU includes besides the operations (e.g. a concurrent load); `ceiling: false` when a
   * closed-loop load beside the operations takes whatever CPU they leave, so a rate from it would mean nothing
   */
  options: { note?: string; ceiling?: boolean } = {},
): [string, Cell][] {
  const machine = measured.machine;
  const ceiling = machineCeiling(measured, operations);
  if (!machine || ceiling === undefined) {
    return [];
  }
  // two decimals below a millisecond per operation (a webhook's shares), one above
  const decimals = machine.busyMs / operations < 1 ? 2 : 1;
  const per = (ms: number | undefined): string =>
    ms === undefined ? '?' : round(ms / operations, decimals).toString();
  const shares: [string, number | undefined][] = [
    ['app', measured.app.cpuMs],
    ['PostgreSQL', measured.databaseCpuMs],
    ['emulators', measured.emulatorCpuMs],
    ['bench', measured.benchCpuMs],
  ];
  const rest = shares.every(([, ms]) => ms !== undefined)
    ? machine.busyMs - shares.reduce((sum, [, ms]) => sum + (ms ?? 0), 0)
    : undefined;
  return [
    [
      `machine CPU per ${unit} (ms${options.note ? `, ${options.note}` : ''})`,
      `${per(machine.busyMs)} = ${[...shares, ['rest', rest] as const].map(([who, ms]) => `${who} ${per(ms)}`).join(' + ')}`,
    ],
    [
      `machine busy (cores of ${machine.cores}; steal)`,
      `${round(machine.busyMs / measured.app.wallMs, 2)}; ${round(machine.stealMs / measured.app.wallMs, 2)}`,
    ],
    ...(options.ceiling === false
      ? []
      : [
          [`ceiling of ${machine.cores} cores at that CPU (${unit}s/s)`, round(ceiling, 1)] as [string, Cell],
        ]),
  ];
}

/**
 * What the runner hands a scenario: the app as its own process (the built artefact, production mode, the
 * probe preloaded), the standalone emulators as another, the benchmark database, and helpers.
 */
export interface BenchContext {
  /** unique per run; use it to tag rows so a scenario can find its own data in a shared database */
  runId: string;
  /** declared flags (runner's and the scenario's), already checked for typos */
  args: BenchArgs;
  /** the app process: its pid, probe (queries, CPU, memory) and /proc RSS */
  app: AppProcess;
  /** base URL of the app */
  baseUrl: string;
  /** HTTP client for the app, sending the API key by default */
  http: BenchHttp;
  /** HTTP client for the emulators' own routes (/sandbox/...: faults, clock, tools) */
  sandbox: BenchHttp;
  /** operator key for `/ops/...` routes */
  operatorKey: string;
  /** the bench's own connections to the benchmark database */
  db: BenchDb;
  /** that database's URL (for a probe that needs its own connection) */
  databaseUrl: string;
  /** PostgreSQL's limits measured earlier in this run (undefined with --no-db-limit) */
  dbLimit: DbLimit | undefined;
  /** runs `phase`, probing the app before and after (and profiling it with --cpu-prof) */
  measure<T>(label: string, phase: () => Promise<T>): Promise<Measured<T>>;
  /** progress line to stderr */
  log(message: string): void;
  /** aborted on Ctrl-C: stop starting work (pass it to runPool) */
  signal: AbortSignal;
}

export interface ResultTable {
  title: string;
  headers: string[];
  rows: Cell[][];
}

export interface ScenarioResult {
  /** false when the run had errors or an invariant did not hold (the runner then exits 1) */
  ok: boolean;
  /** one-line description of what was measured, printed above the tables */
  headline: string;
  /** headline numbers, printed as a metric/value table */
  summary: [string, Cell][];
  /** further tables (e.g. latency percentiles) */
  tables: ResultTable[];
  /** issue 11's targets for this scenario, evaluated */
  targets: TargetResult[];
  /** CPU profile of the measured phase (with --cpu-prof) */
  profile?: ProfileSummary;
  /** everything worth keeping, written to the results JSON */
  data: Record<string, unknown>;
  /** a few error descriptions (already truncated) */
  errors: string[];
}

export interface Scenario {
  name: string;
  description: string;
  /** the scenario's own flags (with defaults); the runner refuses undeclared ones */
  flags: FlagSpec[];
  /** smaller defaults for --quick (a CI smoke run) */
  quick: Record<string, number | string>;
  /** client concurrency, for the db-limit step run beside this scenario alone */
  concurrency(args: BenchArgs): number;
  /**
   * Whether a target is a share of the database's limit: with several scenarios (`--scenario all`) the limit is then
   * measured again right before this one, not once at the start for all of them.
   */
  relativeToDbLimit?: boolean;
  /** extra environment for the app process (e.g. REBILL_BATCH_SIZE); `--app-env` still wins */
  appEnv?(args: BenchArgs): Record<string, string>;
  run(ctx: BenchContext): Promise<ScenarioResult>;
}
