import type { ThrottlerStorage } from '@nestjs/throttler';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * Per-caller limits as one counter per caller and window (rate-limiter-flexible's `RateLimiterMemory`): a request
 * costs the same whatever the limit. @nestjs/throttler's own in-memory storage keeps each hit's expiry and copies
 * that list on every request, so a caller allowed 60,000 a minute made each of its requests filter up to 60,000
 * numbers (docs/decisions.md, "Per-caller limits").
 *
 * The window is fixed (it starts with a caller's first request) rather than sliding: at a window's edge a caller
 * can send up to twice the limit within a short time, the usual trade of API rate limits. Over the limit, a caller
 * is refused until `blockDuration` has passed, as before.
 */
export class WindowCounterThrottlerStorage implements ThrottlerStorage {
  private readonly limiters = new Map<string, RateLimiterMemory>();

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    try {
      const res = await this.limiter(throttlerName, ttl, limit, blockDuration).consume(key);
      return {
        totalHits: res.consumedPoints,
        timeToExpire: seconds(res.msBeforeNext),
        isBlocked: false,
        timeToBlockExpire: 0,
      };
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) {
        throw rejection;
      }
      return {
        totalHits: rejection.consumedPoints,
        timeToExpire: seconds(rejection.msBeforeNext),
        isBlocked: true,
        timeToBlockExpire: seconds(rejection.msBeforeNext),
      };
    }
  }

  /** One limiter per throttler and its settings (a route may override a throttler's limit or ttl). */
  private limiter(
    throttlerName: string,
    ttl: number,
    limit: number,
    blockDuration: number,
  ): RateLimiterMemory {
    const id = `${throttlerName}:${ttl}:${limit}:${blockDuration}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      limiter = new RateLimiterMemory({
        keyPrefix: id,
        points: limit,
        duration: ttl / 1000,
        blockDuration: blockDuration / 1000,
      });
      this.limiters.set(id, limiter);
    }
    return limiter;
  }
}

/** Whole seconds, never 0 while time is left (headers and Retry-After are in seconds). */
function seconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}
