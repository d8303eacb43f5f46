import { SandboxError } from '../shared/sandbox-error';
import { advanceMs, SandboxClockService } from './sandbox-clock.service';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('SandboxClockService', () => {
  it('moves its own "now" and runs listeners in order, each finished before the next', async () => {
    const service = new SandboxClockService();
    const clock = service;
    const seen: string[] = [];
    service.onAdvance(async (now) => {
      await new Promise((r) => setTimeout(r, 20));
      seen.push(`first ${now.getTime() >= Date.now() + DAY_MS - 1000}`);
    }, 'first');
    service.onAdvance((now) => {
      seen.push(`second sees ${clock.now().getTime() - now.getTime() < 1000}`);
      return Promise.resolve();
    }, 'second');

    const before = clock.now().getTime();
    const result = await service.advance({ days: 1 });
    expect(clock.now().getTime() - before).toBeGreaterThanOrEqual(DAY_MS);
    expect(seen).toEqual(['first true', 'second sees true']);
    expect(result.advancedMs).toBe(DAY_MS);
    expect(result.listeners.map((l) => [l.name, l.ok])).toEqual([
      ['first', true],
      ['second', true],
    ]);
  });

  it('reports a failing listener and still runs the others', async () => {
    const service = new SandboxClockService();
    const ran: string[] = [];
    service.onAdvance(() => Promise.reject(new Error('boom')), 'broken');
    service.onAdvance(() => {
      ran.push('after');
      return Promise.resolve();
    }, 'healthy');
    const result = await service.advance({ minutes: 1 });
    expect(result.listeners).toEqual([
      expect.objectContaining({ name: 'broken', ok: false, error: 'boom' }),
      expect.objectContaining({ name: 'healthy', ok: true }),
    ]);
    expect(ran).toEqual(['after']);
  });

  it('serialises concurrent advances and stops calling unsubscribed listeners', async () => {
    const service = new SandboxClockService();
    const log: string[] = [];
    const off = service.onAdvance(async (now) => {
      log.push(`start ${now.toISOString()}`);
      await new Promise((r) => setTimeout(r, 10));
      log.push('end');
    });
    await Promise.all([service.advance({ hours: 1 }), service.advance({ hours: 1 })]);
    expect(log.filter((l) => l === 'end')).toHaveLength(2);
    expect(log[1]).toBe('end');
    off();
    await service.advance({ hours: 1 });
    expect(log).toHaveLength(4);
  });
});

describe('advanceMs', () => {
  it('adds up days, hours and minutes', () => {
    expect(advanceMs({ days: 1, hours: 2, minutes: 3 })).toBe(DAY_MS + 2 * 3_600_000 + 3 * 60_000);
    expect(advanceMs({ hours: 0.5 })).toBe(1_800_000);
    expect(advanceMs({ minutes: 0 })).toBe(0);
  });

  it('rejects an empty, negative, non-finite or too large advance', () => {
    for (const bad of [
      {},
      { days: -1 },
      { hours: Number.NaN },
      { minutes: Infinity },
      { days: 400, minutes: 1 },
    ]) {
      expect(() => advanceMs(bad)).toThrow(SandboxError);
    }
    expect(advanceMs({ days: 400 })).toBe(400 * DAY_MS);
  });
});
