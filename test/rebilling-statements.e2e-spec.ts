import { DataSource } from 'typeorm';
import { InboxService } from '../src/inbox/inbox.service';
import { RebillFaultPoints } from '../src/rebilling/rebill-fault-points';
import { RebillRunSummary } from '../src/rebilling/rebilling.service';
import { dueCleverbridgeSubscription, OPERATOR } from './support/flows';
import {
  ownDatabase,
  QUIET_WORKERS,
  setAsideOtherInboxEvents,
  StatementRecorder,
} from './support/statements';
import { API_KEY, startTestApp, TestApp } from './support/test-app';

/**
 * Rebilling hot path (issue 11): a captured rebill is written in one statement (the attempt, the subscription's
 * schedule and the report), conditional on both rows being as the pass read them; anything else, or a row that
 * changed meanwhile, takes the locked fresh read.
 */
const API = { 'X-Api-Key': API_KEY };
let app: TestApp;
const recorder = new StatementRecorder();
let database: Awaited<ReturnType<typeof ownDatabase>>;

beforeAll(async () => {
  database = await ownDatabase('rebilling_statements');
  // pollers idle and Cleverbridge's notifications lost: only the pass speaks to the database while it is counted
  app = await startTestApp({
    ...QUIET_WORKERS,
    ...database.env,
  });
  recorder.install();
});

afterAll(async () => {
  recorder.uninstall();
  await app?.close();
  await database?.drop();
});

async function run(): Promise<RebillRunSummary> {
  const res = await app.http.post('/ops/rebilling/run').set(OPERATOR);
  expect(res.status).toBe(200);
  return res.body as RebillRunSummary;
}

async function subscription(id: string): Promise<{
  status: string;
  nextBillingAt: string;
  attempts: { status: string; tries: unknown[] }[];
}> {
  const res = await app.http.get(`/v1/subscriptions/${id}`).set(API);
  expect(res.status).toBe(200);
  return res.body as never;
}

it('five captured rebills: one statement each besides the claims, no transaction', async () => {
  const subs = [];
  for (let i = 0; i < 5; i += 1) {
    subs.push(await dueCleverbridgeSubscription(app, 1));
  }
  // the purchases' notifications processed before counting; the rebills' are lost
  await app.http.get('/sandbox/cleverbridge/webhooks/idle').query({ timeoutMs: 5000 }).expect(200);
  await app.http.post('/ops/inbox/process').set(OPERATOR).expect(200);
  await app.http.post('/sandbox/faults/cleverbridge').send({ lostWebhookRate: 1 }).expect(200);
  recorder.start();
  const summary = await run();
  // the dashboard's timeline of gateway calls is written in batches of whatever calls ended meanwhile: not the pass's
  const statements = recorder.stop().filter((s) => !/^\s*INSERT INTO gateway_calls\b/.test(s));
  expect(summary).toMatchObject({ claimed: 5, captured: 5, errors: 0 });
  // the claim of the batch, the batch's attempts, the empty claim that ends the pass and the outbox's look after
  // it (kicked by the pass): then one per charge
  expect(statements.filter((s) => /^(BEGIN|START TRANSACTION)/i.test(s))).toEqual([]);
  expect(statements.length).toBeLessThanOrEqual(5 + 4);
  for (const s of subs) {
    const after = await subscription(s.id);
    expect(after.status).toBe('active');
    expect(after.attempts).toHaveLength(1);
    expect(after.attempts[0]).toMatchObject({ status: 'captured' });
    expect(after.attempts[0]?.tries).toHaveLength(1);
  }
  await app.http.delete('/sandbox/faults/cleverbridge').expect(204);
});

it('cancelled while its charge was at the gateway: captured, and the subscription stays cancelled', async () => {
  const s = await dueCleverbridgeSubscription(app, 1);
  const before = await subscription(s.id);
  const faults = app.app.get(RebillFaultPoints);
  faults.arm({
    afterGatewayCall: async (call) => {
      if (call.subscriptionId === s.id) {
        await app.http.post(`/v1/subscriptions/${s.id}/cancel`).set(API).expect(200);
      }
    },
  });
  let summary: RebillRunSummary;
  try {
    summary = await run();
  } finally {
    faults.disarm();
  }
  expect(summary.captured).toBe(1);
  const after = await subscription(s.id);
  expect(after.status).toBe('cancelled');
  expect(after.attempts[0]).toMatchObject({ status: 'captured' });
  // the paid period moved the schedule on, as the locked path does for a cancelled subscription
  expect(new Date(after.nextBillingAt).getTime()).toBeGreaterThan(new Date(before.nextBillingAt).getTime());
});

it('charges that finish together: one write for all, and one cancelled meanwhile stays cancelled', async () => {
  const subs = [];
  for (let i = 0; i < 4; i += 1) {
    subs.push(await dueCleverbridgeSubscription(app, 1));
  }
  const [cancelled, ...others] = subs;
  if (!cancelled) {
    throw new Error('no subscription');
  }
  await app.http.get('/sandbox/cleverbridge/webhooks/idle').query({ timeoutMs: 5000 }).expect(200);
  await app.http.post('/ops/inbox/process').set(OPERATOR).expect(200);
  await app.http.post('/sandbox/faults/cleverbridge').send({ lostWebhookRate: 1 }).expect(200);
  // every charge waits at the fault point until all four have their answer, then all go on in the same turn
  const waiting: (() => void)[] = [];
  app.app.get(RebillFaultPoints).arm({
    afterGatewayCall: async (call) => {
      if (call.subscriptionId === cancelled.id) {
        await app.http.post(`/v1/subscriptions/${cancelled.id}/cancel`).set(API).expect(200);
      }
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (waiting.length === subs.length) {
          waiting.forEach((release) => release());
        }
      });
    },
  });
  recorder.start();
  let summary: RebillRunSummary;
  try {
    summary = await run();
  } finally {
    app.app.get(RebillFaultPoints).disarm();
  }
  const grouped = recorder.stop().filter((s) => /\bunnest\(\$1::uuid\[\], \$2::xid\[\]/.test(s));
  expect(summary).toMatchObject({ claimed: 4, captured: 4, errors: 0 });
  expect(grouped).toHaveLength(1);
  expect((await subscription(cancelled.id)).status).toBe('cancelled');
  for (const s of [cancelled, ...others]) {
    const after = await subscription(s.id);
    expect(after.attempts[0]).toMatchObject({ status: 'captured' });
    expect(after.attempts[0]?.tries).toHaveLength(1);
  }
  for (const s of others) {
    expect((await subscription(s.id)).status).toBe('active');
  }
  await app.http.delete('/sandbox/faults/cleverbridge').expect(204);
});

// last in the file: it leaves the inbox worker without its wake-up (stored events wait for /ops/inbox/process)
it('the notifications of charges handled together look up their attempts in one statement', async () => {
  app.app.get(InboxService).onWake(() => undefined);
  await setAsideOtherInboxEvents(app.app.get(DataSource));
  const subs = [];
  for (let i = 0; i < 6; i += 1) {
    subs.push(await dueCleverbridgeSubscription(app, 1));
  }
  await app.http.get('/sandbox/cleverbridge/webhooks/idle').query({ timeoutMs: 5000 }).expect(200);
  await app.http.post('/ops/inbox/process').set(OPERATOR).expect(200);
  expect(await run()).toMatchObject({ claimed: 6, captured: 6, errors: 0 });
  // the six PaidOrderNotifications stored, not yet processed
  await app.http.get('/sandbox/cleverbridge/webhooks/idle').query({ timeoutMs: 5000 }).expect(200);
  recorder.start();
  const res = await app.http.post('/ops/inbox/process').set(OPERATOR).expect(200);
  const lookups = recorder.stop().filter((s) => /\bFROM rebill_attempts\b/.test(s));
  // confirmations of what each charge recorded: nothing to change
  expect(res.body).toMatchObject({ ignored: 6, failed: 0, retried: 0 });
  expect(lookups.length).toBeGreaterThanOrEqual(1);
  expect(lookups.length).toBeLessThanOrEqual(2);
  for (const s of subs) {
    expect((await subscription(s.id)).attempts[0]).toMatchObject({ status: 'captured' });
  }
});
