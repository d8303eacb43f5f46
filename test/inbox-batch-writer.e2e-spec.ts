import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { InboxBatchWriter, InboxRow } from '../src/inbox/inbox-batch-writer';
import { startTestApp, TestApp } from './support/test-app';

const CLEENG_SECRET = 'sandbox-cleeng-webhook-secret';

/** Group commit of webhook intake against the real database: one statement per batch, no 2xx for a row not stored. */
describe('inbox batch writer', () => {
  let app: TestApp;
  let db: DataSource;
  let statements: number;
  let writer: InboxBatchWriter;
  const run = randomUUID().slice(0, 8);

  beforeAll(async () => {
    app = await startTestApp({ INBOX_POLL_INTERVAL_MS: '600000' });
    db = app.app.get(DataSource);
    // a trigger that refuses marked rows: the database failing a whole statement
    await db.query(`CREATE OR REPLACE FUNCTION inbox_batch_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.event_key LIKE 'refuse-%' OR NEW.payload->'data'->>'refuse' = 'yes' THEN
          RAISE EXCEPTION 'refused by test trigger';
        END IF;
        RETURN NEW;
      END $$`);
    await db.query(`DROP TRIGGER IF EXISTS inbox_batch_test_refuse ON inbox_events`);
    await db.query(`CREATE TRIGGER inbox_batch_test_refuse BEFORE INSERT ON inbox_events
      FOR EACH ROW EXECUTE FUNCTION inbox_batch_test_refuse()`);
  });
  afterAll(async () => {
    // no handler exists for these: left pending, every later app's worker would retry them (shared database)
    await db.query(`DELETE FROM inbox_events WHERE source = 'batch-test'`);
    await db.query(`DROP TRIGGER IF EXISTS inbox_batch_test_refuse ON inbox_events`);
    await db.query(`DROP FUNCTION IF EXISTS inbox_batch_test_refuse()`);
    await app.close();
  });

  beforeEach(() => {
    statements = 0;
    writer = new InboxBatchWriter(
      {
        query: (sql: string, parameters?: unknown[]) => {
          statements += 1;
          return db.query(sql, parameters);
        },
      },
      { maxItems: 100, maxInFlight: 1 },
    );
  });

  const row = (eventKey: string): InboxRow => ({
    source: 'batch-test',
    lane: 'batch-test',
    eventKey: `${eventKey}`,
    eventType: 'test',
    payloadJson: JSON.stringify({ run, eventKey }),
    receivedAt: new Date(),
  });
  const stored = async (keys: string[]): Promise<string[]> =>
    (
      await db.query<{ event_key: string }[]>(
        `SELECT event_key FROM inbox_events WHERE source = 'batch-test' AND event_key = ANY($1) ORDER BY event_key`,
        [keys],
      )
    ).map((r) => r.event_key);

  it('writes concurrent requests in one statement and reports duplicates per request', async () => {
    const [old, a, b] = [`old-${run}`, `a-${run}`, `b-${run}`];
    await writer.write([row(old)]);
    statements = 0;

    const results = await Promise.all([
      writer.write([row(old)]),
      writer.write([row(a)]),
      writer.write([row(a)]),
      writer.write([row(b), row(old)]),
      writer.write([row(b)]),
    ]);

    expect(statements).toBe(1);
    expect(results).toEqual([[false], [true], [false], [true, false], [false]]);
    expect(await stored([old, a, b])).toEqual([a, b, old].sort());
  });

  it('a statement that fails fails every request in it, and none of its rows is stored', async () => {
    const keys = [`refuse-${run}`, `innocent-1-${run}`, `innocent-2-${run}`];
    const outcomes = await Promise.allSettled(keys.map((key) => writer.write([row(key)])));

    expect(statements).toBe(1);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    const reasons = outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : ''));
    expect(reasons.every((r) => r.includes('refused by test trigger'))).toBe(true);
    expect(await stored(keys)).toEqual([]);

    // the senders retry: the innocent ones are stored then
    expect(await Promise.all(keys.slice(1).map((key) => writer.write([row(key)])))).toEqual([[true], [true]]);
  });

  it('a row the database cannot index fails its own request only', async () => {
    // far above the btree row limit even after compression
    const tooLong = `long-${run}-${randomBytes(12_000).toString('base64')}`;
    const good = `good-${run}`;
    const outcomes = await Promise.allSettled([writer.write([row(good)]), writer.write([row(tooLong)])]);

    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: [true] });
    expect(outcomes[1]?.status).toBe('rejected');
    expect(await stored([good, tooLong])).toEqual([good]);
  });

  it('answers 5xx to every webhook of a failed statement and stores none of them', async () => {
    const send = (data: Record<string, unknown>) => {
      const body = JSON.stringify({ topic: 'subscriptionReadyForTermination', data });
      return app.http
        .post('/webhooks/cleeng')
        .set('content-type', 'application/json')
        .set('x-cleeng-signature', createHmac('sha256', CLEENG_SECRET).update(body).digest('hex'))
        .send(body);
    };
    const marker = `http-${run}`;
    const refused = await Promise.all(
      [1, 2, 3, 4].map((i) =>
        send({ subscriptionId: `${marker}-${i}`, paymentMethodId: 990001, refuse: i === 1 ? 'yes' : 'no' }),
      ),
    );
    const count = async (): Promise<number> =>
      Number(
        (
          await db.query<{ n: string }[]>(
            `SELECT count(*) AS n FROM inbox_events WHERE payload->'data'->>'subscriptionId' LIKE $1`,
            [`${marker}-%`],
          )
        )[0]?.n,
      );
    // the refused webhook is never acknowledged; whatever was acknowledged is stored
    expect(refused[0]?.status).toBe(500);
    const acknowledged = refused.filter((r) => r.status === 200).length;
    expect(refused.every((r) => r.status === 200 || r.status === 500)).toBe(true);
    expect(await count()).toBe(acknowledged);
  });
});
