import { GroupCommit, GroupCommitLimits } from '../common/database/group-commit';
import { returnedRows, type SqlRunner } from '../common/database/query-result';

/** One inbox row as it is written: tokens already sealed, payload already JSON. */
export interface InboxRow {
  source: string;
  /** the gateway the event's processing calls ('' for none): its claim lane */
  lane: string;
  eventKey: string;
  eventType: string;
  payloadJson: string;
  receivedAt: Date;
}

export const DEFAULT_INBOX_BATCH_LIMITS: GroupCommitLimits = { maxItems: 500, maxInFlight: 2 };

const INSERT = `INSERT INTO inbox_events (source, event_key, event_type, payload, next_attempt_at, received_at, lane)
  SELECT r.source, r.event_key, r.event_type, r.payload::jsonb, r.received_at, r.received_at, r.lane
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[])
    AS r(source, event_key, event_type, payload, received_at, lane)
  ON CONFLICT (source, event_key) DO NOTHING
  RETURNING source, event_key`;

/**
 * Group commit for webhook intake (GroupCommit): rows of concurrent requests go to PostgreSQL in one multi-row
 * `INSERT … ON CONFLICT DO NOTHING RETURNING`, and a request is answered only after the statement holding its rows
 * has committed; a failed statement fails every request in it, so none is acknowledged for a row not stored.
 */
export class InboxBatchWriter {
  private readonly commit: GroupCommit<InboxRow, boolean>;

  constructor(db: SqlRunner, limits: GroupCommitLimits = DEFAULT_INBOX_BATCH_LIMITS) {
    this.commit = new GroupCommit((batch) => insert(db, batch), limits);
  }

  /** Stores the rows (all in the same statement); resolves to whether each was new (false: a duplicate). */
  write(rows: readonly InboxRow[]): Promise<boolean[]> {
    return this.commit.submit(rows);
  }
}

/** One statement for the batch; per request, per row: stored (true) or a duplicate (false). */
async function insert(db: SqlRunner, batch: readonly (readonly InboxRow[])[]): Promise<boolean[][]> {
  // the same event twice in one statement: the first occurrence is written, later ones are duplicates
  const first = new Map<string, InboxRow>();
  for (const rows of batch) {
    for (const row of rows) {
      const key = naturalKey(row.source, row.eventKey);
      if (!first.has(key)) {
        first.set(key, row);
      }
    }
  }
  const unique = [...first.values()];
  const returned = returnedRows<{ source: string; event_key: string }>(
    await db.query(INSERT, [
      unique.map((r) => r.source),
      unique.map((r) => r.eventKey),
      unique.map((r) => r.eventType),
      unique.map((r) => r.payloadJson),
      unique.map((r) => r.receivedAt),
      unique.map((r) => r.lane),
    ]),
  );
  const inserted = new Set(returned.map((r) => naturalKey(r.source, r.event_key)));
  return batch.map((rows) =>
    rows.map((row) => {
      const key = naturalKey(row.source, row.eventKey);
      return first.get(key) === row && inserted.has(key);
    }),
  );
}

/** NUL cannot occur in a stored key (assertStorable refuses it), so it separates the parts unambiguously. */
function naturalKey(source: string, eventKey: string): string {
  return `${source}\u0000${eventKey}`;
}
