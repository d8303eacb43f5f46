import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/**
 * Metrics that belong to the process rather than to one app instance: default Node metrics, HTTP
 * request and gateway call histograms. Module-level because the gateway call wrapper is a plain
 * function; the per-app scrape (src/health/metrics.service.ts) merges this registry with its own.
 */
export const processRegistry = new Registry();

const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const httpRequestDuration = new Histogram({
  name: 'connector_http_request_duration_seconds',
  help: 'HTTP requests by route pattern, method and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: LATENCY_BUCKETS_S,
  registers: [processRegistry],
});

export type GatewayCallMetricOutcome = 'ok' | 'unknown' | 'not_processed' | 'invalid' | 'error';

export const gatewayCallDuration = new Histogram({
  name: 'connector_gateway_call_duration_seconds',
  help: 'Gateway calls (retries included) by gateway, operation and outcome',
  labelNames: ['gateway', 'operation', 'outcome'] as const,
  buckets: LATENCY_BUCKETS_S,
  registers: [processRegistry],
});

let defaultMetricsOn = false;

/** Default process metrics (CPU, memory, event loop, GC), started once per process. */
export function enableDefaultProcessMetrics(): void {
  if (!defaultMetricsOn) {
    defaultMetricsOn = true;
    collectDefaultMetrics({ register: processRegistry });
  }
}
