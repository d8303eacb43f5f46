import { Decline, decline } from '../gateways/decline-codes';
import { DomainError } from '../common/errors/domain-error';
import { gatewayCallDuration, GatewayCallMetricOutcome } from '../common/metrics/process-metrics';
import { GatewayId } from './gateway-ids';
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
}

/**
 * Calls a gateway, retrying technical failures with backoff. The call closure must reuse the same
 * idempotency key on every try, so a retry after a lost response returns the first answer instead
 * of charging twice. A call the gateway cannot deduplicate (`idempotent: false`) is retried only while the
 * failure proves the request never left; its unknown outcome is resolved by a notification or a lookup.
 * Every call is timed in `connector_gateway_call_duration_seconds`.
 */
export async function callGateway<T>(
  call: () => Promise<T>,
  options: GatewayCallOptions,
): Promise<GatewayCallOutcome<T>> {
  const stop = gatewayCallDuration.startTimer({ gateway: options.gateway, operation: options.operation });
  let outcome: GatewayCallMetricOutcome = 'error';
  try {
    const result = await callWithRetries(
      call,
      options.retryDelaysMs ?? GATEWAY_RETRY_DELAYS_MS,
      options.idempotent ?? true,
    );
    outcome = result.kind;
    return result;
  } finally {
    stop({ outcome });
  }
}

async function callWithRetries<T>(
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
