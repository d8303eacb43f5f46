import { RateLimiterMemory, RateLimiterQueue } from 'rate-limiter-flexible';
import { GatewayUnavailableError } from './gateway.errors';
import { ProcessSlot } from '../common/process/process-slot';

/**
 * A calls-per-second ceiling per gateway (GATEWAY_RATE_LIMITS over each definition's default). A call over the
 * ceiling waits for the next second's allowance before it is sent, so it never reaches the gateway early; callers
 * are few (request handlers, REBILL_CONCURRENCY rebilling slots, inbox workers), so the wait queue stays short.
 * A queue that does overflow refuses the call as never sent (the caller's usual "not processed" path).
 */
export class GatewayRateLimits {
  private readonly queues = new Map<string, RateLimiterQueue>();

  constructor(
    readonly callsPerSecond: ReadonlyMap<string, number>,
    maxQueued = 10_000,
  ) {
    for (const [gateway, points] of callsPerSecond) {
      this.queues.set(
        gateway,
        new RateLimiterQueue(new RateLimiterMemory({ points, duration: 1 }), { maxQueueSize: maxQueued }),
      );
    }
  }

  /** Resolves when `gateway` may be called now. */
  async take(gateway: string): Promise<void> {
    const queue = this.queues.get(gateway);
    if (!queue) {
      return;
    }
    try {
      await queue.removeTokens(1);
    } catch (err) {
      throw new GatewayUnavailableError(
        gateway,
        `more calls waiting than the ${this.callsPerSecond.get(gateway)}/s ceiling can send (${String(err)})`,
        true,
      );
    }
  }
}

/** Installed by the gateways module at boot. */
export const installedGatewayRateLimits = new ProcessSlot<GatewayRateLimits>();
