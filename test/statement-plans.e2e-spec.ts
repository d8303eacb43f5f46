import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { DashboardQueries } from '../src/dashboard/dashboard.queries';
import { PreparingClient } from '../src/database/preparing-client';
import { WRITE_INBOX_OUTCOMES } from '../src/inbox/inbox.worker';
import { createOrder, pay } from './support/flows';
import { ownDatabase, QUIET_WORKERS, StatementRecorder } from './support/statements';
import { planNodes } from './support/plans';
import { eventually, startTestApp, TestApp } from './support/test-app';

/**
 * Statements on tables that grow (the inbox, orders) reach their rows through the primary key whatever the planner
 * knew when it first planned them. A named statement keeps, after its fifth run, one generic plan for the rest of
 * its connection's life; made while a table was small or never analyzed (a fresh database, a server without
 * autovacuum), a join to it was a hash join over a sequential scan, and stayed one as the table grew: the inbox's
 * outcome write read every row on each batch (docs/performance-history.md, seventeenth pass). Each case runs on
 * temporary tables that shadow the real ones (`pg_temp` is searched first), empty and never analyzed.
 * PostgreSQL only: the embedded database prepares nothing.
 */
const onPostgres = process.env.E2E_DATABASE === 'embedded' ? describe.skip : describe;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Local Hit Blocks'?: number;
  'Local Read Blocks'?: number;
  Plans?: PlanNode[];
}

async function shadow(client: Client, ...tables: string[]): Promise<void> {
  for (const table of tables) {
    await client.query(`CREATE TEMP TABLE ${table} (LIKE public.${table} INCLUDING ALL) ON COMMIT DROP`);
  }
}

async function seqTuplesRead(client: Client, table: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT seq_tup_read::text AS n FROM pg_stat_xact_all_tables WHERE relid = $1::regclass`,
    [table],
  );
  return Number(rows[0]?.n ?? 0);
}

onPostgres('statement plans on growing tables', () => {
  const clients: Client[] = [];
  let app: TestApp;
  let database: Awaited<ReturnType<typeof ownDatabase>>;
  const recorder = new StatementRecorder();

  beforeAll(async () => {
    database = await ownDatabase('statement_plans');
    app = await startTestApp({ ...QUIET_WORKERS, ...database.env });
    recorder.install();
  });
  afterAll(async () => {
    recorder.uninstall();
    await app?.close();
    await database?.drop();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end()));
  });

  /** A connection to the app's database (migrated when the app started). */
  async function connect(
    client = new Client({ connectionString: database.env.DATABASE_URL }),
  ): Promise<Client> {
    await client.connect();
    clients.push(client);
    return client;
  }

  it("the inbox's outcome write, run before and after the inbox grew, reads only the rows it writes", async () => {
    const client = await connect(new PreparingClient({ connectionString: database.env.DATABASE_URL }));
    await client.query('BEGIN');
    try {
      await shadow(client, 'inbox_events');
      const none = (): unknown[] => [
        ['00000000-0000-4000-8000-000000000000'],
        ['done'],
        [new Date()],
        ['00000000-0000-4000-8000-000000000000'],
      ];
      // past the fifth run a named statement keeps a generic plan: made here, on an empty table
      for (let run = 0; run < 7; run += 1) {
        expect((await client.query(WRITE_INBOX_OUTCOMES, none())).rows).toEqual([]);
      }
      await client.query(`INSERT INTO inbox_events (source, event_key, event_type, payload, lease_token)
        SELECT 'cleeng', 'k' || g, 't', '{}', gen_random_uuid() FROM generate_series(1, 20000) g`);
      const { rows: held } = await client.query<{ id: string; lease_token: string }>(
        `SELECT id, lease_token FROM inbox_events ORDER BY event_key LIMIT 8`,
      );
      const before = await seqTuplesRead(client, 'inbox_events');

      const { rows: written } = await client.query<{ id: string }>(WRITE_INBOX_OUTCOMES, [
        held.map((h) => h.id),
        held.map(() => 'done'),
        held.map(() => new Date()),
        held.map((h) => h.lease_token),
      ]);

      expect(written.map((w) => w.id).sort()).toEqual(held.map((h) => h.id).sort());
      expect((await seqTuplesRead(client, 'inbox_events')) - before).toBe(0);
    } finally {
      await client.query('ROLLBACK');
    }
  });

  /** The generic plan of `text` on empty, never-analyzed copies of `tables`: every parameter NULL (it plans alike). */
  async function genericPlanOnEmptyTables(text: string, tables: string[]): Promise<PlanNode[]> {
    const parameters = Math.max(0, ...[...text.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
    const client = await connect();
    await client.query('BEGIN');
    try {
      await shadow(client, ...tables);
      await client.query('SET LOCAL plan_cache_mode = force_generic_plan');
      await client.query(`PREPARE generic AS ${text}`);
      const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
        `EXPLAIN (FORMAT JSON) EXECUTE generic(${Array.from({ length: parameters }, () => 'NULL').join(', ')})`,
      );
      const plan = rows[0]?.['QUERY PLAN'][0].Plan;
      if (!plan) {
        throw new Error('EXPLAIN returned no plan');
      }
      return planNodes(plan).filter((n) => n['Relation Name'] !== undefined);
    } finally {
      await client.query('ROLLBACK');
    }
  }

  describe("a purchase's state changes keep generic plans made on empty, never-analyzed tables that read by key", () => {
    const sent: string[] = [];
    const statement = (marker: string): string => {
      const text = sent.find((t) => t.includes(marker));
      if (!text) {
        throw new Error(`no statement with ${marker} among:\n${sent.join('\n')}`);
      }
      return text;
    };
    const tables = ['orders', 'payments', 'payment_details', 'outbox_messages'];

    beforeAll(async () => {
      const order = await createOrder(app);
      recorder.start();
      const res = await pay(app, order.id);
      expect(res.body).toMatchObject({ status: 'captured' });
      const paymentId = res.body.id as string;
      await eventually(async () => {
        const rows: { n: number }[] = await app.app
          .get(DataSource)
          .query(
            `SELECT count(*)::int AS n FROM outbox_messages WHERE aggregate_id = $1 AND status = 'delivered'`,
            [paymentId],
          );
        return (rows[0]?.n ?? 0) > 0;
      });
      sent.push(...recorder.stop());
    });

    it('captured: the order read and written by primary key', async () => {
      const scans = await genericPlanOnEmptyTables(statement("SET status = 'captured'"), tables);
      expect(scans.filter((n) => n['Relation Name'] === 'orders').length).toBeGreaterThan(0);
      expect(scans.filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([]);
    });

    it('report delivered: the payment and its details written by primary key', async () => {
      const scans = await genericPlanOnEmptyTables(statement("SET status = 'delivered'"), tables);
      expect(scans.filter((n) => n['Relation Name'] === 'payment_details').length).toBeGreaterThan(0);
      expect(scans.filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([]);
    });
  });

  it("the dashboard's search reaches a gateway's payment id by its index, not by walking one (20,000 payments)", async () => {
    const isSearch = (t: string): boolean =>
      t.includes('FROM payments p') && t.includes('ORDER BY p.created_at');
    recorder.start();
    await app.app.get(DashboardQueries).searchPayments('psp-777', undefined);
    const search = recorder.seen().find(isSearch);
    const values = recorder.valuesOf(isSearch);
    recorder.stop();
    expect(search).toBeDefined();
    const client = await connect();
    await client.query('BEGIN');
    try {
      await shadow(client, 'payments', 'orders');
      await client.query(`INSERT INTO payments (order_id, customer_id, gateway, operation, amount_minor, currency,
                                               status, external_payment_id)
        SELECT gen_random_uuid(), 'customer-' || g, 'adyen', 'initial-payment', 100, 'EUR', 'captured', 'psp-' || g
          FROM generate_series(1, 20000) g`);
      await client.query('ANALYZE payments');

      // as the dashboard sent it: its first runs are planned with their values
      const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
        `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${search ?? ''}`,
        values,
      );
      const plan = rows[0]!['QUERY PLAN'][0].Plan;
      const blocks = (plan['Local Hit Blocks'] ?? 0) + (plan['Local Read Blocks'] ?? 0);

      expect(planNodes(plan).filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([]);
      // by the index's leading column: a dozen pages (the gateway's id alone walked the whole index: 136)
      expect(blocks).toBeLessThan(40);
    } finally {
      await client.query('ROLLBACK');
    }
  });
});
