import { CleengRejectedError, CleengUnavailableError } from '../cleeng/cleeng.client';

/** Why a report is waiting for another attempt; the `reason` label of `connector_outbox_retrying`. */
export type RetryReason = 'auth' | 'rate_limited' | 'conflict' | 'unavailable' | 'unexpected';

export type DeliveryFailure =
  | { outcome: 'dead'; message: string }
  | { outcome: 'retry'; reason: RetryReason; message: string; retryAfterMs?: number };

/** A Retry-After longer than this is treated as this (a misconfigured upstream must not park a report for days). */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * What to do with a report Cleeng did not accept. Only a definite validation error is `dead`:
 * 400 or 422 with Cleeng's error body (`{success: false, message}`), or a 2xx with
 * `success: false`; repeating that request cannot succeed until someone changes something, and
 * an operator replays it afterwards. Everything else is retried with backoff, because its cause
 * goes away on its own or with an operator fix that must not lose the report:
 * - 401/403: publisher token rotated or revoked (alerted as `auth`);
 * - 429 (honouring Retry-After), 5xx, 408, timeouts, network errors (`rate_limited`/`unavailable`);
 * - 409: Cleeng still processing the same Idempotency-Key, or a concurrent change (`conflict`);
 * - any other 4xx (404, 400 without a body from a proxy, ...): not a verdict on our report (`unexpected`).
 */
export function classifyDeliveryFailure(err: unknown): DeliveryFailure {
  const text = err instanceof Error ? err.message : String(err);
  if (err instanceof CleengRejectedError) {
    const message = `HTTP ${err.status}: ${text}`;
    if (err.status < 400 || ((err.status === 400 || err.status === 422) && err.explained)) {
      return { outcome: 'dead', message };
    }
    if (err.status === 401 || err.status === 403) {
      return { outcome: 'retry', reason: 'auth', message };
    }
    return { outcome: 'retry', reason: err.status === 409 ? 'conflict' : 'unexpected', message };
  }
  if (err instanceof CleengUnavailableError) {
    const retryAfterMs =
      err.retryAfterMs === undefined ? undefined : Math.min(err.retryAfterMs, MAX_RETRY_AFTER_MS);
    return {
      outcome: 'retry',
      reason: err.status === 429 ? 'rate_limited' : 'unavailable',
      message: text,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }
  return { outcome: 'retry', reason: 'unexpected', message: text };
}
