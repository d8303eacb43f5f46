import type { DataSource } from 'typeorm';
import type { RunningApp } from '../../src/bootstrap';
import type { BenchArgs, FlagSpec } from '../lib/args';
import type { BenchHttp } from '../lib/http';
import type { Cell } from '../lib/table';

/** What the runner hands a scenario: the started app (real PostgreSQL, sandbox emulators) and helpers. */
export interface BenchContext {
  /** unique per run; use it to tag rows so a scenario can find its own data in a shared database */
  runId: string;
  /** declared flags (runner's and the scenario's), already checked for typos */
  args: BenchArgs;
  app: RunningApp;
  /** base URL the app is reached at (same as PUBLIC_URL) */
  baseUrl: string;
  /** HTTP client for the app, sending the sandbox `X-Api-Key` by default */
  http: BenchHttp;
  /** operator key for `/ops/...` and dashboard routes */
  operatorKey: string;
  /** the app's own TypeORM DataSource (the benchmark database) */
  db: DataSource;
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
  /** extra environment for `startApp` (e.g. REBILL_BATCH_SIZE); `--app-env` still wins */
  appEnv?(args: BenchArgs): Record<string, string>;
  run(ctx: BenchContext): Promise<ScenarioResult>;
}
