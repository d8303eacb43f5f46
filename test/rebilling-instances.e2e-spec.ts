import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { RebillFaultPoints } from '../src/rebilling/rebill-fault-points';
import { RebillingService, RebillRunSummary } from '../src/rebilling/rebilling.service';
import { FAST_INBOX, OPERATOR, seedCleverbridgeSubscription } from './support/flows';
import { API_KEY, eventually, startTestApp, TestApp } from './support/test-app';

/**
 * Rebilling with more than one app instance on one database, a real instance stopping mid-flight, and the cron
 * tick. Several instances need a real PostgreSQL: the embedded PGlite serves every connection from one session,
 * so two apps on it would share transactions.
 */
const embedded = process.env.E2E_DATABASE === 'embedded';
const API = { 'X-Api-Key': API_KEY };

interface LedgerPurchase {
  purchaseId: string;
  status: string;
  rebill: boolean;
  subscriptionId?: string;
  attempt?: string;
}

/**
 * `n` Cleverbridge subscriptions created straight on the emulator of `host` (no connector involved). Seeding goes
 * through the same ProcessCart as rebilling and, warm, faster than the emulator's 150 requests per wall-clock
 * second: it returns at the start of the next second, so a rebilling pass started next has a window of its own
 * (without this, ProcessCarts refused with 429 left 8-16 of 500 for a later pass).
 */
async function seedCleverbridge(host: TestApp, n: number): Promise<string[]> {
  const ids: string[] = [];
  const run = `inst-${Date.now()}`;
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = next++; i < n; i = next++) {
        ids[i] = await seedCleverbridgeSubscription(host, `${run}-${i}`);
      }
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, 1_050 - (Date.now() % 1_000)));
  return ids;
}

/** One connector subscription per Cleverbridge subscription, due now, in a single INSERT ... SELECT. */
async function seedSubscriptions(db: DataSource, externalIds: string[], due: Date): Promise<string[]> {
  const rows: { id: string }[] = await db.query(
    `INSERT INTO connector_subscriptions (customer_id, gateway, external_subscription_id, product_id, amount_minor,
       currency, billing_interval, billing_anchor, next_billing_at, next_attempt_at, status)
     SELECT 'inst-' || ext, 'cleverbridge', ext, '100001', 999, 'USD', 'P1M', $2, $2, $2, 'active'
     FROM unnest($1::text[]) AS ext
     RETURNING id`,
    [externalIds, due],
  );
  return rows.map((r) => r.id);
}

async function rebillsOn(host: TestApp): Promise<LedgerPurchase[]> {
  const res = await host.http.get('/sandbox/cleverbridge/ledger');
  return (res.body as { purchases: LedgerPurchase[] }).purchases.filter((p) => p.rebill);
}

function runOn(instance: TestApp): Promise<RebillRunSummary> {
  return instance.http
    .post('/ops/rebilling/run')
    .set(OPERATOR)
    .then((res) => {
      expect(res.status).toBe(200);
      return res.body as RebillRunSummary;
    });
}

describe('the cron tick (REBILL_CRON)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ ...FAST_INBOX, REBILL_CRON: '* * * * * *' });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('charges a due subscription without anyone asking', async () => {
    const [externalId] = await seedCleverbridge(app, 1);
    const res = await app.http
      .post('/v1/subscriptions')
      .set(API)
      .send({
        customerId: `cron-${randomUUID()}`,
        gateway: 'cleverbridge',
        externalSubscriptionId: externalId,
        productId: '100001',
        amount: { value: 999, currency: 'USD' },
        interval: 'P1Y',
        nextBillingAt: new Date(Date.now() - 1_000).toISOString(),
      });
    expect(res.status).toBe(201);
    const id = (res.body as { id: string }).id;
    const charged = await eventually(async () => {
      const s = (await app.http.get(`/v1/subscriptions/${id}`).set(API)).body as {
        attempts: { status: string }[];
      };
      return s.attempts[0]?.status === 'captured' ? s : undefined;
    }, 10_000);
    expect(charged.attempts).toHaveLength(1);
  });
});

const multi = embedded ? describe.skip : describe;
if (embedded) {
  console.warn(
    'rebilling-instances: two-instance tests skipped on the embedded database (PGlite has one session for every ' +
      'connection); run with DATABASE_URL=postgres://... to include them',
  );
}

multi('two app instances on one PostgreSQL', () => {
  let host: TestApp; // instance A, also the Cleverbridge emulator both instances call
  const others: TestApp[] = [];
  // Each instance keeps its own calls-per-second ceiling; the one emulator counts both in its own one-second
  // windows (150/s). At 70/s each, two instances' misaligned windows could send it up to 280 in one of its seconds:
  // refused with 429, left for a later pass (failed once: 495 of 500 captured in the first pass). A quarter each
  // never exceeds it.
  const CEILING = { GATEWAY_RATE_LIMITS: 'cleverbridge=35' };

  beforeAll(async () => {
    host = await startTestApp({
      ...FAST_INBOX,
      ...CEILING,
      REBILL_CRON: 'off',
      REBILL_BATCH_SIZE: '25',
      REBILL_CONCURRENCY: '8',
    });
  });

  afterEach(async () => {
    await host.http.delete('/sandbox/faults/cleverbridge');
    for (const other of others.splice(0)) {
      await other.close();
    }
  });

  afterAll(async () => {
    await host?.close();
  });

  function instance(env: Record<string, string> = {}): Promise<TestApp> {
    return startTestApp({
      ...FAST_INBOX,
      ...CEILING,
      REBILL_CRON: 'off',
      REBILL_BATCH_SIZE: '25',
      REBILL_CONCURRENCY: '8',
      CLEVERBRIDGE_API_URL: `${host.config.publicUrl}/sandbox/cleverbridge`,
      ...env,
    }).then((started) => {
      others.push(started);
      return started;
    });
  }

  it('500 due subscriptions rebilled by both at once: each period charged exactly once', async () => {
    const second = await instance();
    const externalIds = await seedCleverbridge(host, 500);
    const db = host.app.get(DataSource);
    const ids = await seedSubscriptions(db, externalIds, new Date(Date.now() - 60_000));
    const before = (await rebillsOn(host)).length;

    const [a, b] = await Promise.all([runOn(host), runOn(second)]);
    expect(a.claimed).toBeGreaterThan(0);
    expect(b.claimed).toBeGreaterThan(0);
    expect(a.captured + b.captured).toBe(500);
    expect(a.errors + b.errors).toBe(0);
    const [again1, again2] = await Promise.all([runOn(host), runOn(second)]);
    expect(again1.captured + again2.captured).toBe(0);

    const attempts: { subscription_id: string; status: string; n: string }[] = await db.query(
      `SELECT subscription_id, min(status) AS status, count(*)::text AS n FROM rebill_attempts
       WHERE subscription_id = ANY($1::uuid[]) GROUP BY subscription_id`,
      [ids],
    );
    expect(attempts).toHaveLength(500);
    expect(attempts.every((r) => r.n === '1' && r.status === 'captured')).toBe(true);
    const advanced: { n: string }[] = await db.query(
      `SELECT count(*)::text AS n FROM connector_subscriptions WHERE id = ANY($1::uuid[]) AND period_index = 1`,
      [ids],
    );
    expect(advanced[0]?.n).toBe('500');

    const charged = (await rebillsOn(host)).slice(before);
    expect(charged).toHaveLength(500);
    const perSubscription = new Map<string, number>();
    for (const p of charged) {
      perSubscription.set(p.subscriptionId ?? '', (perSubscription.get(p.subscriptionId ?? '') ?? 0) + 1);
    }
    expect(perSubscription.size).toBe(500);
    expect([...perSubscription.values()].every((n) => n === 1)).toBe(true);
    // disjoint claims: each attempt's ProcessCart was sent once (the emulator, like Cleverbridge, dedupes nothing)
    const keys: { idempotency_key: string }[] = await db.query(
      `SELECT idempotency_key FROM rebill_attempts WHERE subscription_id = ANY($1::uuid[])`,
      [ids],
    );
    const requests = (await host.http.get('/sandbox/cleverbridge/requests')).body as { attempt?: string }[];
    const wanted = new Set(keys.map((k) => k.idempotency_key));
    expect(requests.filter((r) => r.attempt !== undefined && wanted.has(r.attempt))).toHaveLength(500);
  }, 120_000); // 500 ProcessCarts paced under the emulator's 150/s (GATEWAY_RATE_LIMITS in test-app.ts)

  it('an instance that dies after the gateway charged: after the lease another one finds the purchase by lookup', async () => {
    // it dies: no drain to wait for (the fault point never returns)
    const victim = await instance({ REBILL_LEASE: '4s', SHUTDOWN_TIMEOUT_MS: '200' });
    const [externalId] = await seedCleverbridge(host, 1);
    const db = host.app.get(DataSource);
    const [id] = await seedSubscriptions(db, [externalId ?? ''], new Date(Date.now() - 60_000));
    // no notification may settle it: only the lookup can
    await host.http.post('/sandbox/faults/cleverbridge').send({ lostWebhookRate: 1 }).expect(200);

    let answered: () => void = () => undefined;
    const gatewayAnswered = new Promise<void>((resolve) => (answered = resolve));
    const victimService = victim.app.get(RebillingService);
    victim.app.get(RebillFaultPoints).arm({
      afterGatewayCall: () => {
        answered();
        return new Promise<void>(() => undefined); // the process is gone: nothing after the call ever runs
      },
    });
    void victimService.runDue(new Date());
    await gatewayAnswered;
    const answeredAt = Date.now();
    await victim.close();
    others.splice(others.indexOf(victim), 1);

    const [row]: { status: string; idempotency_key: string }[] = await db.query(
      `SELECT status, idempotency_key FROM rebill_attempts WHERE subscription_id = $1`,
      [id],
    );
    expect(row?.status).toBe('charging');
    const chargedOnce = (await rebillsOn(host)).filter((p) => p.subscriptionId === externalId);
    expect(chargedOnce).toHaveLength(1);

    const survivor = await instance();
    const early = await runOn(survivor);
    if (Date.now() - answeredAt < 3_000) {
      expect(early.claimed).toBe(0); // the dead instance's lease still holds
    }
    await new Promise((r) => setTimeout(r, Math.max(0, answeredAt + 4_500 - Date.now())));
    const summary = await runOn(survivor);
    expect(summary.captured + early.captured).toBe(1);

    const [after]: { status: string; idempotency_key: string }[] = await db.query(
      `SELECT status, idempotency_key FROM rebill_attempts WHERE subscription_id = $1`,
      [id],
    );
    expect(after).toEqual({ status: 'captured', idempotency_key: row?.idempotency_key });
    const mine = (await rebillsOn(host)).filter((p) => p.subscriptionId === externalId);
    expect(mine).toHaveLength(1);
    expect(mine[0]?.attempt).toBe(row?.idempotency_key);
    // ProcessCart has no idempotency key: the survivor looked it up instead of sending it again
    const requests = (await host.http.get('/sandbox/cleverbridge/requests')).body as { attempt?: string }[];
    expect(requests.filter((r) => r.attempt === row?.idempotency_key)).toHaveLength(1);
  });
});
