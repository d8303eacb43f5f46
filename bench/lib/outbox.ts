import type { BenchDb } from './bench-db';
import { summarize, Summary } from './stats';

export interface OutboxCounts {
  pending: number;
  delivered: number;
  dead: number;
  total: number;
}

export interface OutboxDrain {
  /** true when none of the run's messages is pending any more (delivered or dead) */
  drained: boolean;
  /** from the call until nothing was pending (or the timeout) */
  waitedMs: number;
  counts: OutboxCounts;
}

/** Status counts of the outbox messages (reports to Cleeng) of the given aggregates (e.g. payment ids). */
export async function outboxCounts(db: BenchDb, aggregateIds: readonly string[]): Promise<OutboxCounts> {
  const rows: { status: string; n: number }[] = await db.query(
    `SELECT status, count(*)::int AS n FROM outbox_messages WHERE aggregate_id = ANY($1::text[]) GROUP BY status`,
    [aggregateIds],
  );
  const counts: OutboxCounts = { pending: 0, delivered: 0, dead: 0, total: 0 };
  for (const row of rows) {
    if (row.status === 'pending' || row.status === 'delivered' || row.status === 'dead') {
      counts[row.status] += row.n;
    }
    counts.total += row.n;
  }
  return counts;
}

/**
 * Polls the database until no message of these aggregates is pending (`dead` ones never will be
 * delivered, so they count as settled and are reported) or `timeoutMs` passes.
 */
export async function waitForOutbox(
  db: BenchDb,
  aggregateIds: readonly string[],
  timeoutMs: number,
  pollMs = 25,
): Promise<OutboxDrain> {
  const started = performance.now();
  for (;;) {
    const counts = await outboxCounts(db, aggregateIds);
    const waitedMs = performance.now() - started;
    if (counts.pending === 0) {
      return { drained: true, waitedMs, counts };
    }
    if (waitedMs >= timeoutMs) {
      return { drained: false, waitedMs, counts };
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Time from enqueue to delivery of each delivered message (ms), as recorded in the outbox rows. */
export async function outboxDeliveryLag(db: BenchDb, aggregateIds: readonly string[]): Promise<Summary> {
  const rows: { ms: number }[] = await db.query(
    `SELECT (EXTRACT(EPOCH FROM (delivered_at - created_at)) * 1000)::float8 AS ms
       FROM outbox_messages
      WHERE aggregate_id = ANY($1::text[]) AND status = 'delivered' AND delivered_at IS NOT NULL`,
    [aggregateIds],
  );
  return summarize(rows.map((r) => Number(r.ms)));
}
