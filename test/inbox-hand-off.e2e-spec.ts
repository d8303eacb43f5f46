import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { InboxService } from '../src/inbox/inbox.service';
import { InboxWorker } from '../src/inbox/inbox.worker';
import { ownDatabase, QUIET_WORKERS, StatementRecorder } from './support/statements';
import { eventually, startTestApp, TestApp } from './support/test-app';

const CLAIM = /^\s*UPDATE inbox_events SET locked_until = \$2, lease_token = \$3/;

/**
 * Intake hands what it stores to the local worker: the rows are inserted under the worker's lease and processed
 * without a claim statement. A handed-over event whose instance died before processing it comes back to the poller
 * when that lease runs out.
 */
describe('inbox hand-off from intake to the local worker', () => {
  let app: TestApp;
  let db: DataSource;
  let inbox: InboxService;
  let worker: InboxWorker;
  let database: Awaited<ReturnType<typeof ownDatabase>>;
  const recorder = new StatementRecorder();
  const run = randomUUID().slice(0, 8);
  const handled: string[] = [];

  beforeAll(async () => {
    database = await ownDatabase('inbox_hand_off');
    recorder.install();
    app = await startTestApp({ ...QUIET_WORKERS, ...database.env, INBOX_CONCURRENCY: '2' });
    db = app.app.get(DataSource);
    inbox = app.app.get(InboxService);
    worker = app.app.get(InboxWorker);
    inbox.registerHandler('hand-off-test', (event) => {
      handled.push(String(event.payload.n));
      return Promise.resolve('done');
    });
  });
  afterAll(async () => {
    recorder.uninstall();
    await app?.close();
    await database?.drop();
  });

  const event = (n: string) => ({ eventKey: `${run}-${n}`, eventType: 'test', payload: { n } });
  const row = async (n: string) => {
    const [found]: { status: string; attempts: number; leased: boolean }[] = await db.query(
      `SELECT status, attempts, locked_until IS NOT NULL AS leased FROM inbox_events
       WHERE source = 'hand-off-test' AND event_key = $1`,
      [`${run}-${n}`],
    );
    return found;
  };

  it('events stored while the worker has room are processed without any claim statement', async () => {
    recorder.start();
    for (let n = 0; n < 5; n += 1) {
      expect(await inbox.store('hand-off-test', [event(`seq-${n}`)])).toEqual({ stored: 1, duplicates: 0 });
      await eventually(() => Promise.resolve(handled.includes(`seq-${n}`)));
    }
    await eventually(async () => (await row('seq-4'))?.status === 'done');
    const statements = recorder.stop();

    expect(statements.filter((s) => CLAIM.test(s))).toEqual([]);
    for (let n = 0; n < 5; n += 1) {
      expect(await row(`seq-${n}`)).toEqual({ status: 'done', attempts: 1, leased: false });
    }
    // a redelivery is a duplicate: not stored, not handed over, not handled again
    expect(await inbox.store('hand-off-test', [event('seq-0')])).toEqual({ stored: 0, duplicates: 1 });
    await new Promise((r) => setTimeout(r, 100));
    expect(handled.filter((n) => n === 'seq-0')).toHaveLength(1);
  });

  it('the worker takes at most one claim worth at once (what does not fit is stored unleased, for the poller)', () => {
    const first = worker.reserve(150);
    expect(first?.count).toBe(100); // MAX_CLAIM: INBOX_CONCURRENCY 2 would make two rounds only 4
    expect(worker.reserve(1)).toBeUndefined();
    if (first) {
      worker.cancel(first);
    }
    const again = [worker.reserve(60), worker.reserve(60)];
    expect(again.map((r) => r?.count)).toEqual([60, 40]);
    for (const reservation of again) {
      if (reservation) {
        worker.cancel(reservation);
      }
    }
    const whole = worker.reserve(100);
    expect(whole?.count).toBe(100);
    if (whole) {
      worker.cancel(whole);
    }
  });

  it('an event handed over by an instance that died is processed once its lease runs out', async () => {
    // an instance that reserved, stored its rows under its lease and died before processing them
    inbox.handOffTo({
      reserve: (wanted) => ({ count: wanted, token: randomUUID(), until: new Date(Date.now() + 1_500) }),
      take: () => undefined,
      cancel: () => undefined,
    });
    try {
      expect(await inbox.store('hand-off-test', [event('orphan')])).toEqual({ stored: 1, duplicates: 0 });
    } finally {
      inbox.handOffTo(worker);
    }
    expect(await row('orphan')).toEqual({ status: 'pending', attempts: 0, leased: true });
    // leased to the dead instance: a pass now does not take it
    await worker.processDue();
    expect(handled).not.toContain('orphan');

    await new Promise((r) => setTimeout(r, 1_600));
    await worker.processDue();
    expect(handled.filter((n) => n === 'orphan')).toHaveLength(1);
    expect(await row('orphan')).toEqual({ status: 'done', attempts: 1, leased: false });
  });
});

describe('inbox hand-off does not starve what is due in the table', () => {
  let app: TestApp;
  let inbox: InboxService;
  const run = randomUUID().slice(0, 8);

  beforeAll(async () => {
    app = await startTestApp({
      INBOX_POLL_INTERVAL_MS: '200',
      INBOX_BACKOFF_BASE_MS: '50',
      INBOX_BACKOFF_MAX_MS: '1000',
    });
    inbox = app.app.get(InboxService);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('an event waiting for its retry is taken while a stream of handed-over events keeps the worker busy', async () => {
    const attempts: number[] = [];
    inbox.registerHandler('retry-test', () => {
      attempts.push(Date.now());
      return attempts.length === 1
        ? Promise.reject(new Error('first attempt fails'))
        : Promise.resolve('done');
    });
    inbox.registerHandler('stream-test', async () => {
      await new Promise((r) => setTimeout(r, 30));
      return 'done';
    });
    await inbox.store('retry-test', [{ eventKey: `${run}-retry`, eventType: 'test', payload: {} }]);
    await eventually(() => Promise.resolve(attempts.length === 1));

    // a webhook every 10 ms for 3 s: each is handed over while the one before still runs
    const streamEnds = Date.now() + 3_000;
    for (let n = 0; Date.now() < streamEnds && attempts.length < 2; n += 1) {
      await inbox.store('stream-test', [{ eventKey: `${run}-stream-${n}`, eventType: 'test', payload: {} }]);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(attempts).toHaveLength(2);
    // due 50 ms after the failure: taken within a few poll intervals, not when the stream stops
    expect((attempts[1] ?? 0) - (attempts[0] ?? 0)).toBeLessThan(2_000);
  });
});
