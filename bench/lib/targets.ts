/**
 * The targets of issue 11 as data: each compares a measured value with a limit, either a fixed one
 * (`≤ 3 ms CPU per purchase`) or a share of a database rate the same run measured (`≥ 0.1 × TPC-B tps`).
 * For a database-relative target the ratio printed is measured / database rate (compare it with the share);
 * for a fixed one it is measured / limit.
 */
import type { Cell } from './table';

export type TargetVerdict = 'PASS' | 'FAIL' | 'n/a';

export interface TargetSpec {
  /** e.g. "webhook intake ≥ 0.5 × insert rate" */
  name: string;
  unit: string;
  /** 'min': measured must be ≥ limit; 'max': measured must be ≤ limit */
  direction: 'min' | 'max';
  measured: number | undefined;
  /** a fixed limit */
  limit?: number;
  /** or a share of a database rate measured in the same run (undefined when the step did not run) */
  relativeTo?: { label: string; rate: number | undefined; share: number };
  /**
   * For a throughput: the rate this machine's cores could sustain at the CPU every process spent per operation in
   * the same phase (`machineCeilingPerSecond`). A limit above it cannot be met here without less CPU per operation.
   */
  ceiling?: number;
}

export interface TargetResult {
  name: string;
  unit: string;
  direction: 'min' | 'max';
  measured: number | null;
  limit: number | null;
  /** measured / database rate (relative targets) or measured / limit (fixed ones) */
  ratio: number | null;
  ratioOf: 'database' | 'limit';
  verdict: TargetVerdict;
  ceiling: number | null;
}

const finite = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n);

export function evaluateTarget(spec: TargetSpec): TargetResult {
  const relative = spec.relativeTo;
  const limit = relative ? (finite(relative.rate) ? relative.rate * relative.share : undefined) : spec.limit;
  const base = relative ? relative.rate : spec.limit;
  const measured = spec.measured;
  let verdict: TargetVerdict = 'n/a';
  if (finite(measured) && finite(limit)) {
    verdict = (spec.direction === 'min' ? measured >= limit : measured <= limit) ? 'PASS' : 'FAIL';
  }
  return {
    name: spec.name,
    unit: spec.unit,
    direction: spec.direction,
    measured: finite(measured) ? measured : null,
    limit: finite(limit) ? limit : null,
    ratio: finite(measured) && finite(base) && base !== 0 ? measured / base : null,
    ratioOf: relative ? 'database' : 'limit',
    verdict,
    ceiling: finite(spec.ceiling) ? spec.ceiling : null,
  };
}

function fmt(value: number | null, unit = ''): string {
  if (value === null) {
    return '-';
  }
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)}${unit ? ` ${unit}` : ''}`;
}

/** Rows for renderTable: target | measured | limit | ratio | verdict | machine ceiling. */
export function targetRows(results: readonly TargetResult[]): Cell[][] {
  return results.map((r) => [
    r.name,
    fmt(r.measured, r.unit),
    r.limit === null ? '-' : `${r.direction === 'min' ? '≥' : '≤'} ${fmt(r.limit, r.unit)}`,
    r.ratio === null
      ? '-'
      : r.ratioOf === 'database'
        ? `${r.ratio.toFixed(3)} × db`
        : `${r.ratio.toFixed(2)} × limit`,
    r.verdict,
    fmt(r.ceiling, r.unit),
  ]);
}

export const TARGET_HEADERS = ['target', 'measured', 'limit', 'ratio', 'result', 'machine ceiling'];

export function countVerdicts(results: readonly TargetResult[]): { pass: number; fail: number; na: number } {
  return {
    pass: results.filter((r) => r.verdict === 'PASS').length,
    fail: results.filter((r) => r.verdict === 'FAIL').length,
    na: results.filter((r) => r.verdict === 'n/a').length,
  };
}
