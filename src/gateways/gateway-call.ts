import { Decline, decline } from '../gateways/decline-codes';
import { DomainError } from '../common/errors/domain-error';
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
 */
export async function callGateway<T>(
  call: () => Promise<T>,
  options: GatewayCallOptions | readonly number[] = {},
): Promise<GatewayCallOutcome<T>> {
  const { idempotent = true, retryDelaysMs = GATEWAY_RETRY_DELAYS_MS } = Array.isArray(options)
    ? { retryDelaysMs: options as readonly number[] }
    : (options as GatewayCallOptions);
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
