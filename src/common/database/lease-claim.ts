import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { PreparingClient } from '../../database/preparing-client';

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
  /**
   * Claim per value of a column instead of from one queue: up to `limits.get(value)` rows of each value present
   * (`limit` for values not in `limits`), each value's rows in `orderBy`. The values present are found by a loose
   * scan (one index probe per value) of the rows `scope` selects: the predicate of a partial index that leads with
   * the column, so no value's backlog is read to reach another's.
   */
  partition?: {
    column: string;
    scope: string;
    limits: ReadonlyMap<string, number>;
  };
}

/**
 * Planner settings local to a claim (its statement runs in the same implicit transaction): the candidates are read
 * through the claim's index in its order and the scan stops at the batch; a plain index scan also marks the entries
 * of rows already processed dead, so the next claim skips them. Left to its statistics the planner chose a bitmap
 * scan and a sort of the whole backlog on every claim whenever a table had none yet (a fresh database, or a server
 * without autovacuum) — the largest PostgreSQL cost of the benches (docs/performance-history.md, eighth pass).
 */
export const CLAIM_PLANNER_SETTINGS = [
  'SET LOCAL enable_seqscan = off',
  'SET LOCAL enable_bitmapscan = off',
  'SET LOCAL enable_sort = off',
  // a prepared claim keeps the one plan made under the settings above: a claim's plan does not depend on its values
  'SET LOCAL plan_cache_mode = force_generic_plan',
] as const;

/** The raw driver connection a query runner holds: a simple query with several statements answers each. */
interface RawConnection {
  query(text: string): Promise<unknown>;
}

/** PostgreSQL's codes for PREPARE of a name that exists, and EXECUTE of one that does not. */
const DUPLICATE_PREPARED_STATEMENT = '42P05';
const UNDEFINED_PREPARED_STATEMENT = '26000';

/** Claim statements prepared on each pooled connection (by name), so each is prepared once per connection. */
const preparedOn = new WeakMap<object, Set<string>>();

/**
 * The claim as one simple query (one round trip, one implicit transaction): its planner settings, then the claim,
 * its values written as literals (only dates, integers, UUIDs and arrays of integers or text: `inlineParameters`).
 * With `prepared`, the claim runs as `EXECUTE` of a statement prepared on the connection (`PREPARE` first when
 * `prepare`): planned once instead of on every call, which was a third of a claim's cost (docs/performance-history.md,
 * fifteenth pass).
 */
export function claimQuery(
  statement: { sql: string; params: readonly unknown[] },
  prepared?: { name: string; prepare: boolean },
): string {
  if (!prepared) {
    return [...CLAIM_PLANNER_SETTINGS, inlineParameters(statement.sql, statement.params)].join(';\n');
  }
  return [
    ...(prepared.prepare ? [`PREPARE ${prepared.name} AS ${statement.sql}`] : []),
    ...CLAIM_PLANNER_SETTINGS,
    executeClaim(prepared.name, statement.params),
  ].join(';\n');
}

/** `EXECUTE` of a prepared claim with its values as literals. */
export function executeClaim(name: string, params: readonly unknown[]): string {
  return inlineParameters(`EXECUTE ${name}(${params.map((_, i) => `$${i + 1}`).join(', ')})`, params);
}

/** A name per claim text: a claim's text depends only on its shape (table, predicate, lease), not on its values. */
export function claimStatementName(sql: string): string {
  return `claim_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
}

function lastRows<Row>(results: unknown): Row[] {
  const last: unknown = Array.isArray(results) ? results[results.length - 1] : results;
  return (last as { rows: Row[] }).rows;
}

/**
 * Runs the claim with its planner settings in one round trip (claimQuery). Where the pool prepares statements
 * (PostgreSQL, DATABASE_PREPARED_STATEMENTS), the claim is prepared once per connection; a connection whose
 * prepared claims are not what this process remembers (a name already there, or gone) is corrected and the claim
 * sent once more: either failure stops the query before the claim ran.
 */
export async function claimLeased<Row>(db: DataSource, claim: LeaseClaim): Promise<Row[]> {
  const statement = leaseClaimStatement(claim);
  const runner = db.createQueryRunner();
  try {
    const connection = (await runner.connect()) as RawConnection;
    if (!(connection instanceof PreparingClient)) {
      return lastRows<Row>(await connection.query(claimQuery(statement)));
    }
    let prepared = preparedOn.get(connection);
    if (!prepared) {
      prepared = new Set();
      preparedOn.set(connection, prepared);
    }
    const name = claimStatementName(statement.sql);
    for (let attempt = 1; ; attempt += 1) {
      try {
        const rows = lastRows<Row>(
          await connection.query(claimQuery(statement, { name, prepare: !prepared.has(name) })),
        );
        prepared.add(name);
        return rows;
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (attempt === 1 && code === DUPLICATE_PREPARED_STATEMENT) {
          prepared.add(name);
        } else if (attempt === 1 && code === UNDEFINED_PREPARED_STATEMENT) {
          prepared.delete(name);
        } else {
          throw err;
        }
      }
    }
  } finally {
    await runner.release();
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `$n` replaced by its value as a literal; anything but a date, a safe integer, a UUID or an array of safe integers
 * or of text (written as hex: textLiteral) is refused.
 */
export function inlineParameters(sql: string, params: readonly unknown[]): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => {
    const value = params[Number(n) - 1];
    if (value instanceof Date) {
      return `'${value.toISOString()}'::timestamptz`;
    }
    if (typeof value === 'number' && Number.isSafeInteger(value)) {
      return String(value);
    }
    if (typeof value === 'string' && UUID.test(value)) {
      return `'${value}'`;
    }
    if (Array.isArray(value) && value.every((v) => typeof v === 'number' && Number.isSafeInteger(v))) {
      // '{}' takes the parameter's array type; ARRAY[] alone has none
      return value.length === 0 ? `'{}'` : `ARRAY[${value.join(', ')}]`;
    }
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
      return value.length === 0 ? `'{}'` : `ARRAY[${value.map(textLiteral).join(', ')}]`;
    }
    throw new Error(
      `lease claim: parameter $${n} is not a date, an integer, a UUID or an array of integers or of text`,
    );
  });
}

/** A text value as a literal made of hex digits only, so nothing in it can end the literal. */
function textLiteral(value: string): string {
  return `convert_from('\\x${Buffer.from(value, 'utf8').toString('hex')}'::bytea, 'UTF8')`;
}

function checkLimit(table: string, limit: number, least: number): void {
  if (!Number.isSafeInteger(limit) || limit < least) {
    throw new Error(
      `lease claim on ${table}: limit ${limit} is not ${least > 0 ? 'a positive' : 'a non-negative'} integer`,
    );
  }
}

/**
 * A recursive CTE `partitions(value)`: the values of `column` among the rows `scope` selects (alias `candidate`),
 * found by a loose index scan — one probe per value through a partial index on (`column`, …) WHERE `scope` — and a
 * last NULL row (filter it out). For `WITH RECURSIVE`.
 */
export function partitionsPresent(table: string, column: string, scope: string): string {
  return `partitions(value) AS (
         SELECT min(candidate.${column}) FROM ${table} candidate WHERE ${scope}
         UNION ALL
         SELECT (SELECT min(candidate.${column}) FROM ${table} candidate
                 WHERE ${scope} AND candidate.${column} > p.value)
         FROM partitions p WHERE p.value IS NOT NULL
       )`;
}

/**
 * The candidates' ids: one queue, or each partition's rows in order up to its limit. Every value that changes from
 * one claim to the next (the limits, the partitions' limits) is a parameter appended to `params`, so a claim's text
 * depends on its shape only and can be prepared once.
 */
function candidateIds(claim: LeaseClaim, params: unknown[]): string {
  const { table, partition } = claim;
  const parameter = (value: unknown): string => `$${params.push(value)}`;
  if (!partition) {
    checkLimit(table, claim.limit, 1);
    return `SELECT candidate.id FROM ${table} candidate
       WHERE ${claim.where}
       ORDER BY ${claim.orderBy}
       LIMIT ${parameter(claim.limit)}
       FOR UPDATE SKIP LOCKED`;
  }
  checkLimit(table, claim.limit, 0);
  for (const limit of partition.limits.values()) {
    checkLimit(table, limit, 0);
  }
  const column = partition.column;
  const limits = `partition_limits(value, n) AS (
         SELECT * FROM unnest(${parameter([...partition.limits.keys()])}::text[],
           ${parameter([...partition.limits.values()])}::integer[])
       )`;
  // nothing from values outside `limits`: probe the values asked for, not the index for every value present (the
  // loose scan walks the entries that rows no longer in `scope` leave until vacuum: a claim's largest read)
  const partitions =
    claim.limit === 0
      ? `${limits}, partitions(value) AS (SELECT l.value FROM partition_limits l WHERE l.n > 0)`
      : `RECURSIVE ${partitionsPresent(table, column, partition.scope)}, ${limits}`;
  return `WITH ${partitions}
       SELECT c.id FROM partitions p CROSS JOIN LATERAL (
         SELECT candidate.id FROM ${table} candidate
         WHERE (${claim.where}) AND candidate.${column} = p.value
         ORDER BY ${claim.orderBy}
         LIMIT COALESCE((SELECT l.n FROM partition_limits l WHERE l.value = p.value), ${parameter(claim.limit)})
         FOR UPDATE SKIP LOCKED) c
       WHERE p.value IS NOT NULL`;
}

export function leaseClaimStatement(claim: LeaseClaim): { sql: string; params: unknown[] } {
  const params: unknown[] = [...claim.params];
  const assignments = [
    ...Object.entries(claim.lease).map(([column, value]) => `${column} = $${params.push(value)}`),
    ...(claim.increment ?? []).map((column) => `${column} = ${column} + 1`),
  ];
  return {
    sql: `UPDATE ${claim.table} SET ${assignments.join(', ')}
     WHERE id = ANY(ARRAY(
       ${candidateIds(claim, params)}))
     RETURNING ${claim.returning}`,
    params,
  };
}

/**
 * The rows of a reconciler's table (`next_check_at`, `check_attempts`) whose check is due, earliest first: their next
 * check moves to `leaseUntil` (other instances skip them during this pass) and their attempts are counted, which
 * sets the backoff of the next check. `open` is the table's predicate of the states still to resolve.
 */
export function claimDueChecks(
  db: DataSource,
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
