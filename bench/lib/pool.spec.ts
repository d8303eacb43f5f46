import { runPool } from './pool';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('runPool', () => {
  it('never has more than `concurrency` tasks in flight and runs every task once', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    const result = await runPool({
      total: 25,
      concurrency: 4,
      task: async (i) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        seen.push(i);
        await tick(i % 3);
        inFlight -= 1;
        return i * 2;
      },
    });
    expect(peak).toBe(4);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(result.started).toBe(25);
    expect(result.failures).toBe(0);
    expect(result.outcomes.map((o) => (o.ok ? o.value : -1))).toEqual(
      Array.from({ length: 25 }, (_, i) => i * 2),
    );
  });

  it('records a failing task and keeps going', async () => {
    const result = await runPool({
      total: 6,
      concurrency: 2,
      task: (i) => (i % 2 === 0 ? Promise.reject(new Error(`boom ${i}`)) : Promise.resolve(i)),
    });
    expect(result.failures).toBe(3);
    expect(result.outcomes).toHaveLength(6);
    const first = result.outcomes[0];
    expect(first?.ok).toBe(false);
    expect(first && !first.ok ? (first.error as Error).message : '').toBe('boom 0');
    expect(result.outcomes[1]).toEqual({ ok: true, value: 1 });
  });

  it('reports progress after each task, even if the callback throws', async () => {
    const done: number[] = [];
    const result = await runPool({
      total: 5,
      concurrency: 3,
      task: (i) => Promise.resolve(i),
      onSettled: (n) => {
        done.push(n);
        throw new Error('progress printer broke');
      },
    });
    expect(done).toEqual([1, 2, 3, 4, 5]);
    expect(result.failures).toBe(0);
  });

  it('stops starting tasks once aborted', async () => {
    const controller = new AbortController();
    const result = await runPool({
      total: 100,
      concurrency: 2,
      signal: controller.signal,
      task: async (i) => {
        if (i === 5) {
          controller.abort();
        }
        await tick(1);
        return i;
      },
    });
    expect(result.started).toBeLessThan(100);
    expect(result.outcomes).toHaveLength(result.started);
  });

  it('handles zero tasks and refuses a concurrency below 1', async () => {
    await expect(
      runPool({ total: 0, concurrency: 3, task: () => Promise.resolve(1) }),
    ).resolves.toMatchObject({
      started: 0,
      outcomes: [],
    });
    await expect(runPool({ total: 1, concurrency: 0, task: () => Promise.resolve(1) })).rejects.toThrow(
      RangeError,
    );
  });
});
