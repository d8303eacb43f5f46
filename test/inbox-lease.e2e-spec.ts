import { DataSource } from 'typeorm';
import { adyenLedger, FAST_INBOX, purchase, renewalData, sendCleengWebhook } from './support/flows';
import { eventually, startTestApp, TestApp } from './support/test-app';

/**
 * The inbox lease with two instances on one PostgreSQL (skipped on the embedded database: PGlite serves every
 * connection from one session). A handler that takes longer than the lease must keep its event: the lease is
 * renewed while the handler runs, so the other instance never processes the same event at the same time.
 */
const embedded = process.env.E2E_DATABASE === 'embedded';

async function renewalEvent(
  db: DataSource,
  subscriptionId: string,
): Promise<{ id: string; status: string; attempts: number; payment_id: string | null } | undefined> {
  const [row]: { id: string; status: string; attempts: number; payment_id: string | null }[] = await db.query(
    `SELECT e.id, e.status, e.attempts, p.id AS payment_id
     FROM orders o JOIN inbox_events e ON e.id = o.source_event_id
     LEFT JOIN payments p ON p.order_id = o.id
     WHERE o.cleeng_subscription_id = $1`,
    [subscriptionId],
  );
  return row;
}
const multi = embedded ? describe.skip : describe;

const LEASE = {
  ...FAST_INBOX,
  INBOX_LEASE_MS: '1000',
  GATEWAY_TIMEOUT_MS: '8000',
  REBILL_CRON: 'off',
};

multi('inbox lease with two instances', () => {
  let host: TestApp; // instance A, also the emulators both instances call
  let second: TestApp;

  beforeAll(async () => {
    host = await startTestApp(LEASE);
    second = await startTestApp({
      ...LEASE,
      ADYEN_API_URL: `${host.config.publicUrl}/sandbox/adyen/v71`,
      CLEENG_API_URL: `${host.config.publicUrl}/sandbox/cleeng/3.1`,
    });
  });

  afterAll(async () => {
    await host?.http.delete('/sandbox/faults/adyen');
    await second?.close();
    await host?.close();
  });

  it('a renewal whose gateway call outlasts the lease is handled once: one gateway call, one attempt', async () => {
    const bought = await purchase(host);
    const data = await renewalData(host, bought);
    // the charge takes 2.5 lease lengths: without a renewed lease the other instance takes the event meanwhile
    await host.http.post('/sandbox/faults/adyen').send({ latencyMs: 2500 }).expect(200);
    const sent = await sendCleengWebhook(host, 'subscriptionReadyForPaymentCapture', data);
    expect(sent.status).toBe(200);

    const db = host.app.get(DataSource);
    const subscriptionId = String(bought.subscription.subscriptionId);
    const event = await eventually(async () => {
      const row = await renewalEvent(db, subscriptionId);
      return row?.status === 'done' && row.payment_id ? row : undefined;
    }, 20_000);
    // the slower of two concurrent handlers would finish up to one gateway call later
    await new Promise((r) => setTimeout(r, 3_000));

    const [after]: { status: string; attempts: number }[] = await db.query(
      `SELECT status, attempts FROM inbox_events WHERE id = $1`,
      [event.id],
    );
    expect(after).toEqual({ status: 'done', attempts: 1 });
    const ledger = await adyenLedger(host, event.payment_id ?? '');
    expect(ledger.payments).toHaveLength(1);
    expect(ledger.requests).toBe(1); // one call per idempotency key: no concurrent second handler
  });
});

describe('inbox lease fencing (one instance)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp(LEASE);
  });

  afterAll(async () => {
    await app?.http.delete('/sandbox/faults/adyen');
    await app?.close();
  });

  it('a handler whose lease passed to another claim does not write the outcome; the new holder does', async () => {
    const bought = await purchase(app);
    const data = await renewalData(app, bought);
    await app.http.post('/sandbox/faults/adyen').send({ latencyMs: 2000 }).expect(200);
    expect((await sendCleengWebhook(app, 'subscriptionReadyForPaymentCapture', data)).status).toBe(200);

    const db = app.app.get(DataSource);
    const subscriptionId = String(bought.subscription.subscriptionId);
    // the handler is in its gateway call: another instance takes the lease over (as if this one had stalled)
    const inFlight = await eventually(async () => {
      const row = await renewalEvent(db, subscriptionId);
      return row?.payment_id ? row : undefined;
    }, 10_000);
    const foreign = '00000000-0000-4000-8000-000000000001';
    await db.query(
      `UPDATE inbox_events SET lease_token = $2, locked_until = now() + interval '3 seconds' WHERE id = $1`,
      [inFlight.id, foreign],
    );
    const payment = inFlight.payment_id ?? '';
    await eventually(async () => (await adyenLedger(app, payment)).payments.length === 1, 10_000);
    await new Promise((r) => setTimeout(r, 500)); // the handler's outcome write, had it not been fenced
    const [stale]: { status: string; attempts: number; lease_token: string }[] = await db.query(
      `SELECT status, attempts, lease_token FROM inbox_events WHERE id = $1`,
      [inFlight.id],
    );
    expect(stale).toEqual({ status: 'pending', attempts: 0, lease_token: foreign });

    // the foreign lease runs out: the event is processed again, idempotently (no second gateway call)
    const done = await eventually(async () => {
      const row = await renewalEvent(db, subscriptionId);
      return row?.status === 'done' ? row : undefined;
    }, 15_000);
    expect(done.attempts).toBe(1);
    expect((await adyenLedger(app, payment)).requests).toBe(1);
  });
});
