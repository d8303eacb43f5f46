import { returnedRows } from './query-result';

/** Anything that runs SQL: a DataSource or an EntityManager. */
export interface SqlRunner {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/**
 * One batch of rows leased to the caller (inbox events, outbox messages, due subscriptions):
 * `FOR UPDATE SKIP LOCKED` keeps concurrent claimers from waiting on each other; the lease columns keep a
 * row the caller's after the statement, until it releases it or the lease expires (a crashed instance's rows
 * come back). The candidate filter and order are the caller's, so each table keeps its partial index.
 */
export interface LeaseClaim {
  table: string;
  /** predicate over the candidate rows (alias `candidate`): due and not leased; `$1..$n` are `params` */
  where: string;
  params: readonly unknown[];
  /** over `candidate`; should match the partial index the predicate uses */
  orderBy: string;
  limit: number;
  /** the lease: column -> value set on every claimed row (appended to the parameters) */
  lease: Readonly<Record<string, unknown>>;
  /** counters incremented by one on every claimed row (e.g. attempts) */
  increment?: readonly string[];
  /** columns of the claimed rows to return */
  returning: string;
}

export async function claimLeased<Row>(db: SqlRunner, claim: LeaseClaim): Promise<Row[]> {
  const { sql, params } = leaseClaimStatement(claim);
  return returnedRows<Row>(await db.query(sql, params));
}

/**
 * The claim as one statement. The candidates are picked once (an `ARRAY(...)` sub-select runs as an init plan)
 * and the lease is written through the primary key: with `id IN (...)` the planner may join instead, and a
 * hash join reads the whole table on every claim (a rebilling pass of 100k did; see docs/performance.md).
 */
export function leaseClaimStatement(claim: LeaseClaim): { sql: string; params: unknown[] } {
  if (!Number.isSafeInteger(claim.limit) || claim.limit < 1) {
    throw new Error(`lease claim on ${claim.table}: limit ${claim.limit} is not a positive integer`);
  }
  const leaseColumns = Object.keys(claim.lease);
  const assignments = [
    ...leaseColumns.map((column, i) => `${column} = $${claim.params.length + i + 1}`),
    ...(claim.increment ?? []).map((column) => `${column} = ${column} + 1`),
  ];
  return {
    sql: `UPDATE ${claim.table} SET ${assignments.join(', ')}
     WHERE id = ANY(ARRAY(
       SELECT candidate.id FROM ${claim.table} candidate
       WHERE ${claim.where}
       ORDER BY ${claim.orderBy}
       LIMIT ${claim.limit}
       FOR UPDATE SKIP LOCKED))
     RETURNING ${claim.returning}`,
    params: [...claim.params, ...leaseColumns.map((column) => claim.lease[column])],
  };
}

/**
 * The rows of a reconciler's table (`next_check_at`, `check_attempts`) whose check is due, earliest first: their next
 * check moves to `leaseUntil` (other instances skip them during this pass) and their attempts are counted, which
 * sets the backoff of the next check. `open` is the table's predicate of the states still to resolve.
 */
export function claimDueChecks(
  db: SqlRunner,
  check: { table: string; open: string; now: Date; leaseUntil: Date; limit: number },
): Promise<{ id: string; check_attempts: number }[]> {
  return claimLeased(db, {
    table: check.table,
    where: `(${check.open}) AND candidate.next_check_at <= $1`,
    params: [check.now],
    orderBy: 'candidate.next_check_at',
    limit: check.limit,
    lease: { next_check_at: check.leaseUntil },
    increment: ['check_attempts'],
    returning: 'id, check_attempts',
  });
}
