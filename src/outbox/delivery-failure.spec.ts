import { CleengRejectedError, CleengUnavailableError, retryAfterMs } from '../cleeng/cleeng.client';
import { classifyDeliveryFailure, MAX_RETRY_AFTER_MS } from './delivery-failure';

describe('classifyDeliveryFailure', () => {
  it.each([
    [400, true, 'dead'],
    [422, true, 'dead'],
    [200, true, 'dead'], // success: false
    [400, false, 'unexpected'], // no Cleeng error body: a proxy, not a verdict
    [401, true, 'auth'],
    [403, true, 'auth'],
    [409, true, 'conflict'],
    [404, true, 'unexpected'],
  ] as const)('Cleeng %i (explained: %s) -> %s', (status, explained, expected) => {
    const failure = classifyDeliveryFailure(new CleengRejectedError(status, 'refused', explained));
    expect(failure.outcome === 'dead' ? 'dead' : failure.reason).toBe(expected);
  });

  it('429 is rate_limited with its Retry-After (capped), 5xx/timeouts unavailable, bugs unexpected', () => {
    expect(classifyDeliveryFailure(new CleengUnavailableError('HTTP 429', 429, 5000))).toMatchObject({
      outcome: 'retry',
      reason: 'rate_limited',
      retryAfterMs: 5000,
    });
    expect(
      classifyDeliveryFailure(new CleengUnavailableError('HTTP 429', 429, 10 * MAX_RETRY_AFTER_MS)),
    ).toMatchObject({ retryAfterMs: MAX_RETRY_AFTER_MS });
    expect(classifyDeliveryFailure(new CleengUnavailableError('timeout'))).toMatchObject({
      reason: 'unavailable',
    });
    expect(classifyDeliveryFailure(new TypeError('x is undefined'))).toMatchObject({ reason: 'unexpected' });
  });
});

describe('retryAfterMs', () => {
  it('reads delay-seconds and HTTP dates, ignores garbage', () => {
    const now = Date.parse('2026-12-01T10:00:00Z');
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Tue, 01 Dec 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});
