import { rowsByLookup } from './query-result';

export interface GroupCommitLimits {
  /** items per statement; one caller's items exceeding it still go whole into one statement */
  maxItems: number;
  /** statements in flight at once; further items wait for one to finish and go together */
  maxInFlight: number;
}

/** One statement for the callers' items; per caller, per item: its result. */
export type GroupStatement<Item, Result> = (batch: readonly (readonly Item[])[]) => Promise<Result[][]>;

/** A statement over all the callers' items as one list, answering item by item in the same order. */
export function itemByItem<Item, Result>(
  statement: (items: readonly Item[]) => Promise<Result[]>,
): GroupStatement<Item, Result> {
  return async (batch) => {
    const results = await statement(batch.flat());
    let next = 0;
    return batch.map((items) => items.map(() => results[next++] as Result));
  };
}

/**
 * Lookups submitted together, answered by one statement: `sql` reads one array parameter per lookup field
 * (`unnest(…) WITH ORDINALITY`, the ordinal returned as `lookup`, at most one row each); per lookup its row, or null.
 */
export function groupedLookups<Lookup>(
  query: (sql: string, params: unknown[]) => Promise<(Record<string, unknown> & { lookup: number })[]>,
  sql: string,
  params: (lookups: readonly Lookup[]) => unknown[],
): GroupCommit<Lookup, Record<string, unknown> | null> {
  return new GroupCommit(
    itemByItem(async (lookups) => rowsByLookup(await query(sql, params(lookups)), lookups.length)),
    { maxItems: 100, maxInFlight: 2 },
  );
}

interface Waiter<Item, Result> {
  items: readonly Item[];
  resolve(results: Result[]): void;
  reject(err: unknown): void;
}

/**
 * SQLSTATE classes that one row's data can cause (22 data exception, 23 integrity, 54 program limit such as an
 * index row too large): the batch is retried caller by caller so one poisoned item fails alone. Any other
 * failure (connection, timeout, shutdown) is the database's and fails the whole batch.
 */
const ROW_ERROR_CLASSES = new Set(['22', '23', '54']);

function rowSpecific(err: unknown): boolean {
  const code = (err as { code?: unknown; driverError?: { code?: unknown } } | null)?.driverError?.code;
  const own = (err as { code?: unknown } | null)?.code;
  const sqlState = typeof code === 'string' ? code : typeof own === 'string' ? own : '';
  return ROW_ERROR_CLASSES.has(sqlState.slice(0, 2));
}

/**
 * Group commit: the items of concurrent callers go to PostgreSQL in one autocommit statement (one round trip, one
 * commit) instead of one each; lookups can be grouped the same way. A caller waits at most for the statement in
 * flight before it plus its own (no timer: with a free slot its items leave in the next event-loop turn), and its
 * promise settles only after the statement that holds its items has returned, i.e. committed. A failed statement
 * rejects every caller in it, so nobody acts on a write that did not happen; a data error retries each caller alone.
 */
export class GroupCommit<Item, Result> {
  private queue: Waiter<Item, Result>[] = [];
  private inFlight = 0;
  private flushScheduled = false;

  constructor(
    private readonly statement: GroupStatement<Item, Result>,
    private readonly limits: GroupCommitLimits,
  ) {}

  /** Writes the items (all in the same statement); resolves to their results once committed. */
  submit(items: readonly Item[]): Promise<Result[]> {
    if (items.length === 0) {
      return Promise.resolve([]);
    }
    return new Promise<Result[]>((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.queue.length === 0 || this.inFlight >= this.limits.maxInFlight) {
      return;
    }
    this.flushScheduled = true;
    // callers whose items arrive in the same event-loop turn join this statement
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < this.limits.maxInFlight) {
      const batch: Waiter<Item, Result>[] = [];
      let items = 0;
      for (let next = this.queue[0]; next; next = this.queue[0]) {
        if (batch.length > 0 && items + next.items.length > this.limits.maxItems) {
          break;
        }
        batch.push(next);
        items += next.items.length;
        this.queue.shift();
      }
      this.inFlight += 1;
      void this.settle(batch).finally(() => {
        this.inFlight -= 1;
        this.scheduleFlush();
      });
    }
  }

  /** Never rejects: every waiter is resolved or rejected. */
  private async settle(batch: Waiter<Item, Result>[]): Promise<void> {
    try {
      const results = await this.statement(batch.map((waiter) => waiter.items));
      batch.forEach((waiter, i) => waiter.resolve(results[i] ?? []));
    } catch (err) {
      if (batch.length > 1 && rowSpecific(err)) {
        // each caller gets the answer its own statement gives
        await Promise.all(batch.map((waiter) => this.settle([waiter])));
        return;
      }
      for (const waiter of batch) {
        waiter.reject(err);
      }
    }
  }
}
