import { DataSource } from 'typeorm';
import { GatewayRegistry } from '../src/gateways/gateway.registry';
import { RebillInput } from '../src/gateways/gateway.provider';
import { RebillingService, RebillRunSummary } from '../src/rebilling/rebilling.service';
import { FAST_INBOX, OPERATOR, seedCleverbridgeSubscription } from './support/flows';
import { eventually, startTestApp, TestApp } from './support/test-app';

/**
 * Shutdown drains (the path SIGTERM takes: RunningApp.close()): readiness answers 503 at once, workers stop
 * claiming, in-flight gateway calls finish and are written, claimed work not yet started is released so another
 * instance takes it straight away. Two instances on one PostgreSQL, so skipped on the embedded database.
 */
const embedded = process.env.E2E_DATABASE === 'embedded';
const multi = embedded ? describe.skip : describe;
const BASE = { ...FAST_INBOX, REBILL_CRON: 'off', GATEWAY_TIMEOUT_MS: '8000' };

async function seedDue(host: TestApp, n: number): Promise<{ ids: string[]; externalIds: string[] }> {
  const run = `drain-${Date.now()}`;
  const externalIds: string[] = [];
  for (let i = 0; i < n; i += 1) {
    externalIds.push(await seedCleverbridgeSubscription(host, `${run}-${i}`));
  }
  const db = host.app.get(DataSource);
  // the database is kept between runs: an earlier failed run's rows must not be due any more
  await db.query(
    `UPDATE connector_subscriptions SET next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL
     WHERE customer_id LIKE 'drain-%' AND next_attempt_at IS NOT NULL`,
  );
  // claims go by next look, oldest first: ours are looked at before anything else due in this database
  const [first]: { at: Date | null }[] = await db.query(
    `SELECT min(next_attempt_at) AS at FROM connector_subscriptions`,
  );
  const lookAt = new Date(Math.min(first?.at?.getTime() ?? Date.now(), Date.now()) - 60_000);
  const rows: { id: string }[] = await db.query(
    `INSERT INTO connector_subscriptions (customer_id, gateway, external_subscription_id, product_id, amount_minor,
       currency, billing_interval, billing_anchor, next_billing_at, next_attempt_at, status)
     SELECT 'drain-' || ext, 'cleverbridge', ext, '100001', 999, 'USD', 'P1M', $2, $2, $3, 'active'
     FROM unnest($1::text[]) AS ext
     RETURNING id`,
    [externalIds, new Date(Date.now() - 60_000), lookAt],
  );
  return { ids: rows.map((r) => r.id), externalIds };
}

multi('graceful shutdown drains the rebilling batch', () => {
  let host: TestApp; // survivor, also the Cleverbridge emulator both instances call
  let victim: TestApp | undefined;

  beforeAll(async () => {
    host = await startTestApp(BASE);
  });

  afterAll(async () => {
    await host?.http.delete('/sandbox/faults/cleverbridge');
    await victim?.close();
    await host?.close();
  });

  it('503 while draining, in-flight charges written, unstarted claims released for another instance', async () => {
    victim = await startTestApp({
      ...BASE,
      REBILL_BATCH_SIZE: '10',
      REBILL_CONCURRENCY: '2',
      SHUTDOWN_TIMEOUT_MS: '15000',
      CLEVERBRIDGE_API_URL: `${host.config.publicUrl}/sandbox/cleverbridge`,
    });
    const db = host.app.get(DataSource);
    const { ids, externalIds } = await seedDue(host, 10);
    await host.http.post('/sandbox/faults/cleverbridge').send({ latencyMs: 2000 }).expect(200);

    // the victim's ProcessCart calls in flight (the claimed batch's attempts are all made, `charging`, before any)
    const gateway = victim.app.get(GatewayRegistry).get('cleverbridge');
    const rebill = gateway.rebill?.bind(gateway);
    if (!rebill) {
      throw new Error('cleverbridge cannot rebill');
    }
    let inFlight = 0;
    gateway.rebill = async (input: RebillInput) => {
      inFlight += 1;
      try {
        return await rebill(input);
      } finally {
        inFlight -= 1;
      }
    };
    const victimPass = victim.app.get(RebillingService).runDue(new Date());
    victimPass.catch(() => undefined);
    // two lanes: two charges in flight, eight claimed and waiting
    await eventually(() => Promise.resolve(inFlight === 2), 10_000);
    const [leased]: { n: number }[] = await db.query(
      `SELECT count(*)::int AS n FROM connector_subscriptions WHERE id = ANY($1::uuid[]) AND lease_owner IS NOT NULL`,
      [ids],
    );
    expect(leased?.n).toBe(10);

    const draining = victim;
    const closing = draining.close();
    const ready = await eventually(async () => {
      const res = await draining.http.get('/health/ready');
      return res.status === 503 ? res : undefined;
    }, 1_500);
    expect(ready.status).toBe(503);
    await closing;
    victim = undefined;

    const attempts: { subscription_id: string; status: string }[] = await db.query(
      `SELECT subscription_id, status FROM rebill_attempts WHERE subscription_id = ANY($1::uuid[])`,
      [ids],
    );
    // the attempts made for the eight never started are gone with their lease (their key was never sent)
    expect(attempts).toHaveLength(2);
    expect(attempts.map((a) => a.status)).toEqual(['captured', 'captured']);
    const started = new Set(attempts.map((a) => a.subscription_id));
    const waiting: { lease_owner: string | null; lease_until: Date | null; period_index: number }[] =
      await db.query(
        `SELECT lease_owner, lease_until, period_index FROM connector_subscriptions
       WHERE id = ANY($1::uuid[]) AND NOT (id = ANY($2::uuid[]))`,
        [ids, [...started]],
      );
    expect(waiting).toHaveLength(8);
    expect(
      waiting.every((s) => s.lease_owner === null && s.lease_until === null && s.period_index === 0),
    ).toBe(true);

    // another instance takes the released rows at once (REBILL_LEASE is 5 min: a kept lease would block them)
    await host.http.delete('/sandbox/faults/cleverbridge');
    const res = await host.http.post('/ops/rebilling/run').set(OPERATOR);
    expect(res.status).toBe(200);
    const summary = res.body as RebillRunSummary;
    expect(summary.claimed).toBeGreaterThanOrEqual(8);
    const [paid]: { n: number }[] = await db.query(
      `SELECT count(*)::int AS n FROM rebill_attempts WHERE subscription_id = ANY($1::uuid[]) AND status = 'captured'`,
      [ids],
    );
    expect(paid?.n).toBe(10);

    const ledger = (await host.http.get('/sandbox/cleverbridge/ledger')).body as {
      purchases: { rebill: boolean; subscriptionId?: string }[];
    };
    const charged = ledger.purchases.filter((p) => p.rebill && externalIds.includes(p.subscriptionId ?? ''));
    expect(charged).toHaveLength(10);
    expect(new Set(charged.map((p) => p.subscriptionId)).size).toBe(10);
  });
});
