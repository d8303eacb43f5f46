import { callGateway } from './gateway-call';
import { GatewayRateLimits, installedGatewayRateLimits } from './gateway-rate-limits';
import { GatewayUnavailableError } from './gateway.errors';

const flush = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('GatewayRateLimits', () => {
  it('lets the ceiling through at once and holds the rest for the next second', async () => {
    const limits = new GatewayRateLimits(new Map([['cleverbridge', 3]]));
    let passed = 0;
    const takes = Array.from({ length: 5 }, () => limits.take('cleverbridge').then(() => (passed += 1)));
    await flush(50);
    expect(passed).toBe(3);
    await Promise.all(takes);
    expect(passed).toBe(5);
  });

  it('does not hold a gateway without a ceiling, nor one gateway for another', async () => {
    const limits = new GatewayRateLimits(new Map([['cleverbridge', 1]]));
    await limits.take('cleverbridge');
    let adyen = 0;
    await Promise.all(Array.from({ length: 50 }, () => limits.take('adyen').then(() => (adyen += 1))));
    expect(adyen).toBe(50);
  });

  it('refuses a call as never sent when the wait queue is full', async () => {
    const limits = new GatewayRateLimits(new Map([['cleverbridge', 1]]), 1);
    await limits.take('cleverbridge');
    const queued = limits.take('cleverbridge');
    const refused = limits.take('cleverbridge');
    await expect(refused).rejects.toBeInstanceOf(GatewayUnavailableError);
    await expect(refused).rejects.toMatchObject({ notProcessed: true });
    await queued;
  });

  it('paces every try of callGateway through the installed ceiling', async () => {
    const limits = new GatewayRateLimits(new Map([['cleverbridge', 2]]));
    installedGatewayRateLimits.install(limits);
    try {
      expect(installedGatewayRateLimits.get()).toBe(limits);
      const sentAt: number[] = [];
      const started = Date.now();
      const calls = Array.from({ length: 4 }, () =>
        callGateway(
          () => {
            sentAt.push(Date.now() - started);
            return Promise.resolve('ok');
          },
          { gateway: 'cleverbridge', operation: 'rebill', idempotent: false },
        ),
      );
      await flush(50);
      expect(sentAt).toHaveLength(2);
      const outcomes = await Promise.all(calls);
      expect(outcomes.every((o) => o.kind === 'ok')).toBe(true);
      expect(sentAt).toHaveLength(4);
    } finally {
      installedGatewayRateLimits.remove(limits);
    }
    expect(installedGatewayRateLimits.get()).toBeUndefined();
  });
});
