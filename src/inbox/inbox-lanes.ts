import { partitionsPresent } from '../common/database/lease-claim';
import { returnedRows, type SqlRunner } from '../common/database/query-result';

/** Pending inbox events by lane, through `inbox_lane_due_idx (lane, next_attempt_at) WHERE status = 'pending'`. */
export const PENDING_LANES = { column: 'lane', scope: `candidate.status = 'pending'` } as const;

/** `WITH RECURSIVE` CTE `partitions(value)`: the lanes that have pending events, one index probe each. */
export const PENDING_LANES_CTE = partitionsPresent('inbox_events', PENDING_LANES.column, PENDING_LANES.scope);

/**
 * The backlog per lane ('' for events that call no gateway), each counted up to `cap`: each lane found by one probe
 * of the due index, so neither a long backlog nor a long history makes it a table scan.
 */
export async function pendingPerLane(
  db: SqlRunner,
  cap: number,
): Promise<{ lane: string; pending: number }[]> {
  return returnedRows<{ lane: string; pending: number }>(
    await db.query(
      `WITH RECURSIVE ${PENDING_LANES_CTE}
       SELECT p.value AS lane,
              (SELECT count(*)::int FROM (SELECT 1 FROM inbox_events
                WHERE status = 'pending' AND lane = p.value LIMIT $1) l) AS pending
         FROM partitions p WHERE p.value IS NOT NULL ORDER BY p.value`,
      [cap],
    ),
  );
}
