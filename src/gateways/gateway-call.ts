import { Decline, decline } from '../gateways/decline-codes';
import { DomainError } from '../common/errors/domain-error';
import { gatewayCallDuration, GatewayCallMetricOutcome } from '../common/metrics/process-metrics';
import { GatewayId } from './gateway-ids';
import { installedGatewayRateLimits } from './gateway-rate-limits';
import { ProcessSlot } from '../common/process/process-slot';
import {
  GatewayOperationUnsupportedError,
  GatewayOutcomeUnknownError,
  GatewayRequestRejectedError,
  GatewayUnavailableError,
} from './gateway.errors';

export type GatewayCallOutcome<T> =
  | { kind: 'ok'; value: T }
  /** no answer after every retry: the gateway may have acted */
  | { kind: 'unknown'; error: string }
  /** the gateway certainly did nothing (connection refused every time) */
  | { kind: 'not_processed'; decline: Decline }
  /** the gateway refused the request itself (4xx): bad input or a bug, never retried */
  | { kind: 'invalid'; error: GatewayRequestRejectedError };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** In-request retries of a technical failure, under the same idempotency key. */
export const GATEWAY_RETRY_DELAYS_MS = [250, 1000] as const;

export interface GatewayCallOptions {
  /** metric labels: which gateway, which operation (authorise, capture, refund, ...) */
  gateway: GatewayId;
  operation: string;
  /**
   * The gateway deduplicates a repeated request (it has an idempotency key). `false` (Cleverbridge ProcessCart):
   * a try that may have reached the gateway is never repeated; only a connection refused before sending is.
   */
  idempotent?: boolean;
  retryDelaysMs?: readonly number[];
  /** our id of what the call is about (payment, refund, attempt): links the recorded call to its timeline */
  subject?: string;
}

/** What the dashboard's timeline keeps of one call: summaries only, never card data or tokens. */
export interface GatewayCallRecord {
  gateway: GatewayId;
  operation: string;
  subject?: string;
  outcome: GatewayCallMetricOutcome;
  durationMs: number;
  response: Record<string, string | number | boolean>;
}

export type GatewayCallRecorder = (record: GatewayCallRecord) => void;

/** Installed by the dashboard module; it must not throw or block (it is called after every call). */
export const gatewayCallRecorder = new ProcessSlot<GatewayCallRecorder>();

/**
 * Calls a gateway, retrying technical failures with backoff. The call closure must reuse the same
 * idempotency key on every try, so a retry after a lost response returns the first answer instead
 * of charging twice. A call the gateway cannot deduplicate (`idempotent: false`) is retried only while the
 * failure proves the request never left; its unknown outcome is resolved by a notification or a lookup.
 * Every try waits within the gateway's calls-per-second ceiling (GATEWAY_RATE_LIMITS). Every call is timed in
 * `connector_gateway_call_duration_seconds`.
 */
export async function callGateway<T>(
  call: () => Promise<T>,
  options: GatewayCallOptions,
): Promise<GatewayCallOutcome<T>> {
  const stop = gatewayCallDuration.startTimer({ gateway: options.gateway, operation: options.operation });
  let outcome: GatewayCallMetricOutcome = 'error';
  let result: GatewayCallOutcome<T> | undefined;
  try {
    result = await callWithRetries(
      options.gateway,
      call,
      options.retryDelaysMs ?? GATEWAY_RETRY_DELAYS_MS,
      options.idempotent ?? true,
    );
    outcome = result.kind;
    return result;
  } finally {
    const seconds = stop({ outcome });
    gatewayCallRecorder.get()?.({
      gateway: options.gateway,
      operation: options.operation,
      ...(options.subject !== undefined ? { subject: options.subject } : {}),
      outcome,
      durationMs: Math.round(seconds * 1000),
      response: summariseOutcome(result),
    });
  }
}

/** Fields of a result that are safe to keep: statuses, ids, decline codes. Anything else is left out. */
const SAFE_RESULT_FIELDS = ['status', 'externalPaymentId', 'externalId', 'externalSubscriptionId'];

export function summariseOutcome(
  result: GatewayCallOutcome<unknown> | undefined,
): Record<string, string | number | boolean> {
  if (result === undefined) {
    return {};
  }
  switch (result.kind) {
    case 'unknown':
      return { error: result.error.slice(0, 200) };
    case 'not_processed':
      return { declineCode: result.decline.code, error: (result.decline.rawReason ?? '').slice(0, 200) };
    case 'invalid':
      return { error: result.error.message.slice(0, 200) };
    case 'ok': {
      const summary: Record<string, string | number | boolean> = {};
      const value = result.value;
      if (value === null || typeof value !== 'object') {
        return summary;
      }
      const fields = value as Record<string, unknown>;
      for (const key of SAFE_RESULT_FIELDS) {
        const v = fields[key];
        if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
          summary[key] = typeof v === 'string' ? v.slice(0, 100) : v;
        }
      }
      const declined = fields.decline as { code?: unknown; rawCode?: unknown } | undefined;
      if (declined && typeof declined.code === 'string') {
        summary.declineCode = declined.code;
        if (typeof declined.rawCode === 'string') {
          summary.rawDeclineCode = declined.rawCode.slice(0, 50);
        }
      }
      const action = fields.action as { type?: unknown } | undefined;
      if (action && typeof action.type === 'string') {
        summary.action = action.type;
      }
      return summary;
    }
  }
}

async function callWithRetries<T>(
  gateway: GatewayId,
  call: () => Promise<T>,
  retryDelaysMs: readonly number[],
  idempotent: boolean,
): Promise<GatewayCallOutcome<T>> {
  let sawUnknown = false;
  let lastError = '';
  for (let attempt = 0; attempt <= retryDelaysMs.length; attempt += 1) {
    if (attempt > 0) {
      if (sawUnknown && !idempotent) {
        break; // it may have reached the gateway: sending it again could charge twice
      }
      await sleep(retryDelaysMs[attempt - 1] ?? 0);
    }
    try {
      // each try waits for the gateway's calls-per-second allowance before it is sent
      await installedGatewayRateLimits.get()?.take(gateway);
      return { kind: 'ok', value: await call() };
    } catch (err) {
      if (err instanceof GatewayRequestRejectedError) {
        return { kind: 'invalid', error: err };
      }
      if (err instanceof GatewayOperationUnsupportedError) {
        throw new DomainError('GATEWAY_OPERATION_UNSUPPORTED', err.message);
      }
      if (err instanceof GatewayOutcomeUnknownError) {
        sawUnknown = true;
        lastError = err.message;
        continue;
      }
      if (err instanceof GatewayUnavailableError) {
        sawUnknown ||= !err.notProcessed;
        lastError = err.message;
        continue;
      }
      throw err;
    }
  }
  if (sawUnknown) {
    return { kind: 'unknown', error: lastError };
  }
  return { kind: 'not_processed', decline: decline('GW_ERROR', { reason: lastError }) };
}
