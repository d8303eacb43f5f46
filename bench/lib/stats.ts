/**
 * Latency statistics for benchmarks. Percentiles use the nearest-rank method on the sorted sample:
 * the p-th percentile is the smallest observed value such that at least p% of the sample is <= it.
 * It always returns a value that was actually observed (no interpolation), p0 is the minimum and
 * p100 the maximum. An empty sample yields NaN (printed as "-", written to JSON as null).
 */

export interface Summary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending-sorted array; `p` in [0, 100]. */
export function percentileSorted(sorted: readonly number[], p: number): number {
  if (!Number.isFinite(p) || p < 0 || p > 100) {
    throw new RangeError(`percentile must be within [0, 100], got ${p}`);
  }
  const n = sorted.length;
  if (n === 0) {
    return Number.NaN;
  }
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  return sorted[Math.min(rank, n) - 1] ?? Number.NaN;
}

/** Nearest-rank percentile of an unsorted sample (the input is not modified). */
export function percentile(values: readonly number[], p: number): number {
  return percentileSorted(sortAscending(values), p);
}

export function sortAscending(values: readonly number[]): number[] {
  // typed-array sort is numeric (a plain Array#sort would compare strings)
  return Array.from(Float64Array.from(values).sort());
}

export function summarize(values: readonly number[]): Summary {
  const sorted = sortAscending(values);
  const count = sorted.length;
  let sum = 0;
  for (const v of sorted) {
    sum += v;
  }
  return {
    count,
    min: count > 0 ? (sorted[0] ?? Number.NaN) : Number.NaN,
    mean: count > 0 ? sum / count : Number.NaN,
    p50: percentileSorted(sorted, 50),
    p90: percentileSorted(sorted, 90),
    p99: percentileSorted(sorted, 99),
    max: count > 0 ? (sorted[count - 1] ?? Number.NaN) : Number.NaN,
  };
}

/** Events per second; 0 when no time has passed. */
export function ratePerSecond(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (count * 1000) / elapsedMs : 0;
}

/** Rounds for display and JSON (keeps NaN so JSON turns it into null). */
export function round(value: number, digits = 1): number {
  if (!Number.isFinite(value)) {
    return value;
  }
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function roundSummary(s: Summary, digits = 1): Summary {
  return {
    count: s.count,
    min: round(s.min, digits),
    mean: round(s.mean, digits),
    p50: round(s.p50, digits),
    p90: round(s.p90, digits),
    p99: round(s.p99, digits),
    max: round(s.max, digits),
  };
}
