import { WindowCounterThrottlerStorage } from './window-counter.storage';

const MINUTE = 60_000;

describe('WindowCounterThrottlerStorage: per-caller limits, one counter per caller and window', () => {
  let storage: WindowCounterThrottlerStorage;
  const hit = (key = 'default:api:a', limit = 3, ttl = MINUTE, blockDuration = MINUTE) =>
    storage.increment(key, ttl, limit, blockDuration, 'default');

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-12-03T12:00:00Z') });
    storage = new WindowCounterThrottlerStorage();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('counts a caller’s requests in its window and refuses the one over the limit', async () => {
    expect(await hit()).toEqual({ totalHits: 1, timeToExpire: 60, isBlocked: false, timeToBlockExpire: 0 });
    jest.advanceTimersByTime(10_000);
    expect(await hit()).toMatchObject({ totalHits: 2, timeToExpire: 50, isBlocked: false });
    expect(await hit()).toMatchObject({ totalHits: 3, isBlocked: false });
    expect(await hit()).toMatchObject({ totalHits: 4, isBlocked: true, timeToBlockExpire: 60 });
  });

  it('keeps refusing for the block duration, then starts a fresh window', async () => {
    for (let i = 0; i < 4; i += 1) {
      await hit();
    }
    jest.advanceTimersByTime(59_000);
    expect(await hit()).toMatchObject({ isBlocked: true, timeToBlockExpire: 1 });
    jest.advanceTimersByTime(1_000);
    expect(await hit()).toEqual({ totalHits: 1, timeToExpire: 60, isBlocked: false, timeToBlockExpire: 0 });
  });

  it('a window that ends under the limit starts again at one', async () => {
    await hit();
    await hit();
    jest.advanceTimersByTime(MINUTE);
    expect(await hit()).toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('callers and throttlers count apart', async () => {
    for (let i = 0; i < 4; i += 1) {
      await hit('default:api:a');
    }
    expect(await hit('default:api:b')).toMatchObject({ totalHits: 1, isBlocked: false });
    expect(await storage.increment('tokenise:api:a', 3_600_000, 2, 3_600_000, 'tokenise')).toMatchObject({
      totalHits: 1,
      timeToExpire: 3600,
      isBlocked: false,
    });
  });

  it('a route with its own limit for the same throttler gets its own counter', async () => {
    for (let i = 0; i < 3; i += 1) {
      await hit('default:api:a', 3);
    }
    expect(await hit('default:api:a', 3)).toMatchObject({ isBlocked: true });
    expect(await hit('default:api:a', 10)).toMatchObject({ totalHits: 1, isBlocked: false });
  });
});
