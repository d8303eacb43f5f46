import type { SqlRunner } from '../common/database/lease-claim';
import { returnedRows } from '../common/database/query-result';

/** One inbox row as it is written: tokens already sealed, payload already JSON. */
export interface InboxRow {
  source: string;
  eventKey: string;
  eventType: string;
  payloadJson: string;
  receivedAt: Date;
}

export interface InboxBatchLimits {
  /** rows per INSERT; a request whose rows exceed it still goes whole into one statement */
  maxRows: number;
  /** INSERT statements in flight at once; further rows wait for one to finish and go together */
  maxInFlight: number;
}

export const DEFAULT_INBOX_BATCH_LIMITS: InboxBatchLimits = { maxRows: 500, maxInFlight: 2 };

interface Waiter {
  rows: readonly InboxRow[];
  resolve(stored: boolean[]): void;
  reject(err: unknown): void;
}

/**
 * SQLSTATE classes that one row's data can cause (22 data exception, 23 integrity, 54 program limit such as an
 * index row too large): the batch is retried request by request so one poisoned webhook fails alone. Any other
 * failure (connection, timeout, shutdown) is the database's and fails the whole batch.
 */
const ROW_ERROR_CLASSES = new Set(['22', '23', '54']);

function rowSpecific(err: unknown): boolean {
  const code = (err as { code?: unknown; driverError?: { code?: unknown } } | null)?.driverError?.code;
  const own = (err as { code?: unknown } | null)?.code;
  const sqlState = typeof code === 'string' ? code : typeof own === 'string' ? own : '';
  return ROW_ERROR_CLASSES.has(sqlState.slice(0, 2));
}

const INSERT = `INSERT INTO inbox_events (source, event_key, event_type, payload, next_attempt_at, received_at)
  SELECT r.source, r.event_key, r.event_type, r.payload::jsonb, r.received_at, r.received_at
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
    AS r(source, event_key, event_type, payload, received_at)
  ON CONFLICT (source, event_key) DO NOTHING
  RETURNING source, event_key`;

/**
 * Group commit for webhook intake: rows of concurrent requests go to PostgreSQL in one multi-row
 * `INSERT … ON CONFLICT DO NOTHING RETURNING` (one round trip, one commit) instead of one each. A request
 * waits at most for the statement in flight before it plus its own (no timer: with a free slot its rows
 * leave in the same event-loop turn), and its promise settles only after the statement that holds its rows
 * has committed (autocommit). A failed statement rejects every request in it, so none is acknowledged for a
 * row that was not stored.
 */
export class InboxBatchWriter {
  private queue: Waiter[] = [];
  private inFlight = 0;
  private flushScheduled = false;

  constructor(
    private readonly db: SqlRunner,
    private readonly limits: InboxBatchLimits = DEFAULT_INBOX_BATCH_LIMITS,
  ) {}

  /** Stores the rows (all in the same statement); resolves to whether each was new (false: a duplicate). */
  write(rows: readonly InboxRow[]): Promise<boolean[]> {
    if (rows.length === 0) {
      return Promise.resolve([]);
    }
    return new Promise<boolean[]>((resolve, reject) => {
      this.queue.push({ rows, resolve, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.queue.length === 0 || this.inFlight >= this.limits.maxInFlight) {
      return;
    }
    this.flushScheduled = true;
    // requests whose bodies arrived in the same event-loop turn join this statement
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < this.limits.maxInFlight) {
      const batch: Waiter[] = [];
      let rows = 0;
      for (let next = this.queue[0]; next; next = this.queue[0]) {
        if (batch.length > 0 && rows + next.rows.length > this.limits.maxRows) {
          break;
        }
        batch.push(next);
        rows += next.rows.length;
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
  private async settle(batch: Waiter[]): Promise<void> {
    try {
      const stored = await this.insert(batch);
      batch.forEach((waiter, i) => waiter.resolve(stored[i] ?? []));
    } catch (err) {
      if (batch.length > 1 && rowSpecific(err)) {
        // each request gets the answer its own INSERT gives
        await Promise.all(batch.map((waiter) => this.settle([waiter])));
        return;
      }
      for (const waiter of batch) {
        waiter.reject(err);
      }
    }
  }

  /** One statement for the batch; per waiter, per row: stored (true) or a duplicate (false). */
  private async insert(batch: readonly Waiter[]): Promise<boolean[][]> {
    // the same event twice in one statement: the first occurrence is written, later ones are duplicates
    const first = new Map<string, InboxRow>();
    for (const waiter of batch) {
      for (const row of waiter.rows) {
        const key = naturalKey(row.source, row.eventKey);
        if (!first.has(key)) {
          first.set(key, row);
        }
      }
    }
    const unique = [...first.values()];
    const returned = returnedRows<{ source: string; event_key: string }>(
      await this.db.query(INSERT, [
        unique.map((r) => r.source),
        unique.map((r) => r.eventKey),
        unique.map((r) => r.eventType),
        unique.map((r) => r.payloadJson),
        unique.map((r) => r.receivedAt),
      ]),
    );
    const inserted = new Set(returned.map((r) => naturalKey(r.source, r.event_key)));
    return batch.map((waiter) =>
      waiter.rows.map((row) => {
        const key = naturalKey(row.source, row.eventKey);
        return first.get(key) === row && inserted.has(key);
      }),
    );
  }
}

/** NUL cannot occur in a stored key (assertStorable refuses it), so it separates the parts unambiguously. */
function naturalKey(source: string, eventKey: string): string {
  return `${source}\u0000${eventKey}`;
}
