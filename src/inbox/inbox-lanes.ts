import { partitionsPresent } from '../common/database/lease-claim';

/** Pending inbox events by lane, through `inbox_lane_due_idx (lane, next_attempt_at) WHERE status = 'pending'`. */
export const PENDING_LANES = { column: 'lane', scope: `candidate.status = 'pending'` } as const;

/** `WITH RECURSIVE` CTE `partitions(value)`: the lanes that have pending events, one index probe each. */
export const PENDING_LANES_CTE = partitionsPresent('inbox_events', PENDING_LANES.column, PENDING_LANES.scope);
