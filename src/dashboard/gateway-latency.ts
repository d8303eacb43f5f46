import { gatewayCallDuration } from '../common/metrics/process-metrics';

export interface GatewayLatency {
  gateway: string;
  operation: string;
  calls: number;
  /** seconds, interpolated within the histogram's buckets (as Prometheus' histogram_quantile does) */
  p50: number | null;
  p99: number | null;
  /** share of calls whose outcome was not `ok` (declines are `ok`: the gateway answered) */
  errorRate: number;
}

interface Series {
  gateway: string;
  operation: string;
  buckets: Map<number, number>;
  count: number;
  failed: number;
}

/** p50/p99 and error rate per gateway and operation from the histogram `/metrics` exposes. */
export async function gatewayLatencies(): Promise<GatewayLatency[]> {
  const metric = await gatewayCallDuration.get();
  const series = new Map<string, Series>();
  for (const value of metric.values) {
    // bucket samples carry `le` besides the declared labels
    const labels = value.labels as Record<string, string | number | undefined>;
    const gateway = String(value.labels.gateway ?? '');
    const operation = String(value.labels.operation ?? '');
    const key = `${gateway}\u0000${operation}`;
    const entry = series.get(key) ?? { gateway, operation, buckets: new Map(), count: 0, failed: 0 };
    series.set(key, entry);
    const name = value.metricName ?? '';
    if (name.endsWith('_bucket')) {
      const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
      entry.buckets.set(le, (entry.buckets.get(le) ?? 0) + value.value);
    } else if (name.endsWith('_count')) {
      entry.count += value.value;
      if (value.labels.outcome !== 'ok') {
        entry.failed += value.value;
      }
    }
  }
  return [...series.values()]
    .filter((s) => s.count > 0)
    .sort((a, b) => a.gateway.localeCompare(b.gateway) || a.operation.localeCompare(b.operation))
    .map((s) => ({
      gateway: s.gateway,
      operation: s.operation,
      calls: s.count,
      p50: quantile(0.5, s.buckets),
      p99: quantile(0.99, s.buckets),
      errorRate: s.failed / s.count,
    }));
}

/** The q-quantile of cumulative buckets (upper bound → count), linear within the bucket it falls in. */
export function quantile(q: number, buckets: Map<number, number>): number | null {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Infinity) ?? 0;
  if (total === 0) {
    return null;
  }
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bound of bounds) {
    const count = buckets.get(bound) ?? 0;
    if (count >= rank) {
      if (bound === Infinity) {
        return lowerBound; // beyond the largest finite bucket: its bound is the best we know
      }
      const inBucket = count - lowerCount;
      return inBucket === 0 ? bound : lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}
