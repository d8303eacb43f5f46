/**
 * Bounded-concurrency runner: `total` tasks, at most `concurrency` in flight, started in index
 * order. A task that throws is recorded as a failure and never stops the run; the outcome array
 * is in index order.
 */

export type TaskOutcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface PoolOptions<T> {
  total: number;
  concurrency: number;
  task: (index: number) => Promise<T>;
  /** called after each task settles, with how many have settled so far */
  onSettled?: (done: number, outcome: TaskOutcome<T>, index: number) => void;
  /** stop starting new tasks once aborted (tasks in flight still finish) */
  signal?: AbortSignal;
}

export interface PoolResult<T> {
  outcomes: TaskOutcome<T>[];
  /** tasks actually started (less than `total` only when aborted) */
  started: number;
  failures: number;
  elapsedMs: number;
}

export async function runPool<T>(options: PoolOptions<T>): Promise<PoolResult<T>> {
  const { total, task, onSettled, signal } = options;
  if (!Number.isInteger(total) || total < 0) {
    throw new RangeError(`total must be a non-negative integer, got ${total}`);
  }
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${options.concurrency}`);
  }
  const concurrency = Math.min(options.concurrency, Math.max(total, 1));
  const outcomes = new Array<TaskOutcome<T>>(total);
  let next = 0;
  let done = 0;
  let failures = 0;
  const started = performance.now();

  const worker = async (): Promise<void> => {
    while (next < total && !signal?.aborted) {
      const index = next;
      next += 1;
      let outcome: TaskOutcome<T>;
      try {
        outcome = { ok: true, value: await task(index) };
      } catch (error) {
        outcome = { ok: false, error };
        failures += 1;
      }
      outcomes[index] = outcome;
      done += 1;
      try {
        onSettled?.(done, outcome, index);
      } catch {
        // a progress callback must never break the run
      }
    }
  };

  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  return {
    outcomes: outcomes.slice(0, next),
    started: next,
    failures,
    elapsedMs: performance.now() - started,
  };
}
