import { randomUUID } from 'node:crypto';
import { DataSource, QueryRunner } from 'typeorm';
import {
  CLAIM_PLANNER_SETTINGS,
  claimStatementName,
  executeClaim,
  LeaseClaim,
  leaseClaimStatement,
} from '../src/common/database/lease-claim';
import { inboxClaim } from '../src/inbox/inbox.worker';
import { outboxClaim } from '../src/outbox/outbox.dispatcher';
import { rebillClaim } from '../src/rebilling/rebill-claims';
import { planNodes } from './support/plans';
import { startTestApp, TestApp } from './support/test-app';

/**
 * The claims of the inbox, the outbox and rebilling stay proportional to their batch when a backlog builds up
 * behind statistics that say the table holds little work (the state after a quiet period, before ANALYZE sees the
 * backlog: exactly when a claim must be cheap). Each case builds its table inside a transaction, analyzes it,
 * adds the backlog, runs the real claim statement under EXPLAIN ANALYZE and rolls everything back.
 * PostgreSQL only: PGlite serves every connection from one session, so the transaction would take in the app's
 * own background work.
 */
const onPostgres = process.env.E2E_DATABASE === 'embedded' ? describe.skip : describe;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  'Shared Hit Blocks': number;
  'Shared Read Blocks': number;
  Plans?: PlanNode[];
}

/**
 * The claim under EXPLAIN ANALYZE in the caller's transaction, as claimLeased runs it on PostgreSQL: prepared on the
 * connection, its planner settings, then EXECUTE with its values (the one generic plan every later claim reuses).
 */
async function explainClaim(tx: QueryRunner, claim: LeaseClaim): Promise<PlanNode> {
  const { sql, params } = leaseClaimStatement(claim);
  const name = claimStatementName(sql);
  const prepared: unknown[] = await tx.query('SELECT 1 FROM pg_prepared_statements WHERE name = $1', [name]);
  if (prepared.length === 0) {
    await tx.query(`PREPARE ${name} AS ${sql}`);
  }
  for (const setting of CLAIM_PLANNER_SETTINGS) {
    await tx.query(setting);
  }
  const [row]: { 'QUERY PLAN': [{ Plan: PlanNode }] }[] = await tx.query(
    `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${executeClaim(name, params)}`,
  );
  if (!row) {
    throw new Error('EXPLAIN returned no plan');
  }
  return row['QUERY PLAN'][0].Plan;
}

/** Rows the plan read from `table` (kept or filtered out, every loop): a claim should read about its batch. */
function rowsRead(plan: PlanNode, table: string): number {
  return planNodes(plan)
    .filter((n) => n['Relation Name'] === table)
    .reduce(
      (sum, n) =>
        sum +
        (n['Actual Rows'] + (n['Rows Removed by Filter'] ?? 0) + (n['Rows Removed by Index Recheck'] ?? 0)) *
          n['Actual Loops'],
      0,
    );
}

const buffers = (plan: PlanNode): number => plan['Shared Hit Blocks'] + plan['Shared Read Blocks'];

onPostgres('lease claims stay O(batch) behind a backlog', () => {
  let app: TestApp;
  let tx: QueryRunner;

  beforeAll(async () => {
    app = await startTestApp({ REBILL_CRON: 'off' });
  });
  beforeEach(async () => {
    tx = app.app.get(DataSource).createQueryRunner();
    await tx.connect();
    await tx.startTransaction();
    // a plan that walks the backlog per candidate takes minutes here: fail instead
    await tx.query(`SET LOCAL statement_timeout = '30s'`);
  });
  afterEach(async () => {
    await tx.rollbackTransaction();
    await tx.release();
  });
  afterAll(async () => {
    await app.close();
  });

  it('outbox: 20 of a 6,000-report backlog through the pending index, each aggregate gated by one probe', async () => {
    const run = randomUUID();
    await tx.query(
      `INSERT INTO outbox_messages (kind, aggregate_id, dedupe_key, payload, status, delivered_at)
       SELECT 'payment', $1 || '-old-' || (g % 1000), $1 || '-old-' || g, '{}', 'delivered', now()
       FROM generate_series(1, 3000) g`,
      [run],
    );
    await tx.query('ANALYZE outbox_messages');
    // Cleeng was down: two reports per payment wait, the second gated by the first
    await tx.query(
      `INSERT INTO outbox_messages (kind, aggregate_id, dedupe_key, payload, next_attempt_at)
       SELECT 'payment', $1 || '-' || (g / 2), $1 || '-' || g, '{}', now() - interval '1 minute'
       FROM generate_series(0, 5999) g`,
      [run],
    );

    const plan = await explainClaim(tx, outboxClaim(new Date(), 20));

    expect(plan['Actual Rows']).toBe(20);
    // a claim that sorts the backlog reads all 6,000 and probes each one's aggregate
    expect(rowsRead(plan, 'outbox_messages')).toBeLessThan(200);
    expect(buffers(plan)).toBeLessThan(2_000);
  });

  /** 3,000 processed events, then (after `beforeBacklog`) 3,000 due ones; the claim of 16 under EXPLAIN. */
  async function inboxClaimBehindBacklog(beforeBacklog: string): Promise<PlanNode> {
    const run = randomUUID();
    await tx.query(
      `INSERT INTO inbox_events (source, event_key, event_type, payload, status, processed_at)
       SELECT 'cleeng', $1 || '-done-' || g, 'test', '{}', 'processed', now() FROM generate_series(1, 3000) g`,
      [run],
    );
    await tx.query(beforeBacklog);
    await tx.query(
      `INSERT INTO inbox_events (source, event_key, event_type, payload, next_attempt_at)
       SELECT 'cleeng', $1 || '-' || g, 'test', '{}', now() - interval '1 minute' FROM generate_series(1, 3000) g`,
      [run],
    );
    // lane '' only: other tests' events may be pending in other lanes of this database
    const limits = { perLane: new Map([['', 16]]), otherLanes: 0 };
    return explainClaim(tx, inboxClaim(new Date(), limits, new Date(Date.now() + 60_000), randomUUID()));
  }

  it('inbox: 16 of a 3,000-event backlog, earliest first, through the due index', async () => {
    const plan = await inboxClaimBehindBacklog('ANALYZE inbox_events');

    expect(plan['Actual Rows']).toBe(16);
    expect(rowsRead(plan, 'inbox_events')).toBeLessThan(100);
    expect(buffers(plan)).toBeLessThan(1_000);
  });

  it('inbox: the same backlog on a table without statistics (never analyzed: a fresh database, no autovacuum)', async () => {
    // forget the table's statistics for this transaction only (as on a database autovacuum never visited)
    await tx.query(`DELETE FROM pg_statistic WHERE starelid = 'inbox_events'::regclass`);
    const plan = await inboxClaimBehindBacklog(
      `UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid = 'inbox_events'::regclass`,
    );

    expect(plan['Actual Rows']).toBe(16);
    // left to the planner: a bitmap scan and a sort of all 3,000 due events for 16
    expect(rowsRead(plan, 'inbox_events')).toBeLessThan(100);
  });

  it("inbox: one lane's 16 behind another lane's 3,000-event backlog, without reading that backlog", async () => {
    const run = randomUUID();
    await tx.query(
      `INSERT INTO inbox_events (source, lane, event_key, event_type, payload, next_attempt_at)
       SELECT 'adyen', 'adyen', $1 || '-a-' || g, 'test', '{}', now() - interval '1 hour' FROM generate_series(1, 3000) g`,
      [run],
    );
    await tx.query('ANALYZE inbox_events');
    await tx.query(
      `INSERT INTO inbox_events (source, lane, event_key, event_type, payload, next_attempt_at)
       SELECT 'claim-plans', 'claim-plans', $1 || '-' || g, 'test', '{}', now() - interval '1 minute'
       FROM generate_series(1, 40) g`,
      [run],
    );
    // Adyen at its bound (nothing from its lane), the other lane refilled; other tests' lanes left alone
    const limits = {
      perLane: new Map([
        ['adyen', 0],
        ['claim-plans', 16],
      ]),
      otherLanes: 0,
    };
    const token = randomUUID();
    const plan = await explainClaim(tx, inboxClaim(new Date(), limits, new Date(Date.now() + 60_000), token));

    expect(plan['Actual Rows']).toBe(16);
    expect(rowsRead(plan, 'inbox_events')).toBeLessThan(100);
    // the lane asked for, not the older backlog of the other
    const leased: { lane: string; n: number }[] = await tx.query(
      `SELECT lane, count(*)::int AS n FROM inbox_events WHERE lease_token = $1 GROUP BY lane`,
      [token],
    );
    expect(leased).toEqual([{ lane: 'claim-plans', n: 16 }]);
  });

  it("inbox: a lane's 16 without walking the 20,000 processed events of the lane before it", async () => {
    const run = randomUUID();
    // processed events leave their entries in the partial due index until vacuum: pending, then done
    await tx.query(
      `INSERT INTO inbox_events (source, event_key, event_type, payload, next_attempt_at)
       SELECT 'cleeng', $1 || '-done-' || g, 'test', '{}', now() - interval '1 hour' FROM generate_series(1, 20000) g`,
      [run],
    );
    await tx.query(`UPDATE inbox_events SET status = 'done' WHERE event_key LIKE $1 || '-done-%'`, [run]);
    await tx.query(
      `INSERT INTO inbox_events (source, lane, event_key, event_type, payload, next_attempt_at)
       SELECT 'claim-plans', 'claim-plans', $1 || '-' || g, 'test', '{}', now() - interval '1 minute'
       FROM generate_series(1, 40) g`,
      [run],
    );
    // the lanes are known (no other lane asked for): each is probed, none is searched for
    const limits = { perLane: new Map([['claim-plans', 16]]), otherLanes: 0 };
    const plan = await explainClaim(
      tx,
      inboxClaim(new Date(), limits, new Date(Date.now() + 60_000), randomUUID()),
    );

    expect(plan['Actual Rows']).toBe(16);
    expect(rowsRead(plan, 'inbox_events')).toBeLessThan(100);
    expect(buffers(plan)).toBeLessThan(500);
  });

  it('rebilling: 500 due of 20,000 subscriptions, leased through the primary key (no pass over the table)', async () => {
    const run = randomUUID();
    await tx.query(
      `INSERT INTO connector_subscriptions (customer_id, gateway, external_subscription_id, amount_minor, currency,
         billing_interval, billing_anchor, next_billing_at, next_attempt_at, status)
       SELECT $1 || '-' || g, 'cleverbridge', $1 || '-' || g, 999, 'EUR', 'month', now(), now(),
         CASE WHEN g <= 2000 THEN timestamptz '2000-01-01' + g * interval '1 second' ELSE now() + interval '1 day' END,
         'active'
       FROM generate_series(1, 20000) g`,
      [run],
    );
    await tx.query('ANALYZE connector_subscriptions');
    const now = new Date();
    const owner = randomUUID();

    const plan = await explainClaim(
      tx,
      rebillClaim({
        due: now,
        now,
        limit: 500,
        owner,
        until: new Date(now.getTime() + 60_000),
      }),
    );

    expect(plan['Actual Rows']).toBe(500);
    // a claim that joins its candidates back to the table reads all 20,000
    expect(rowsRead(plan, 'connector_subscriptions')).toBeLessThan(2_000);
    const leased: { n: string }[] = await tx.query(
      `SELECT count(*)::text AS n FROM connector_subscriptions
       WHERE lease_owner = $2 AND customer_id LIKE $1 AND next_attempt_at < timestamptz '2000-01-01' + interval '501 seconds'`,
      [`${run}-%`, owner],
    );
    // earliest due first: the 500 that were due longest
    expect(leased[0]?.n).toBe('500');
  });
});
