import { DataSource } from 'typeorm';
import { GatewayRegistry } from '../src/gateways/gateway.registry';
import { RebillInput } from '../src/gateways/gateway.provider';
import { RebillRunSummary } from '../src/rebilling/rebilling.service';
import { dueCleverbridgeSubscription, FAST_INBOX, OPERATOR } from './support/flows';
import { startTestApp, TestApp } from './support/test-app';

/**
 * The pass keeps REBILL_CONCURRENCY charges in flight: lanes take subscriptions one by one from a queue refilled
 * while charges run, so a slow charge holds its lane, not its batch. Batches of 2 and 2 lanes here: while one
 * charge hangs, the other lane goes on through the following batches.
 */
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({
    ...FAST_INBOX,
    REBILL_CRON: 'off',
    REBILL_BATCH_SIZE: '2',
    REBILL_CONCURRENCY: '2',
  });
});

afterAll(async () => {
  await app?.close();
});

const dueSubscription = (minutesAgo: number): Promise<{ id: string; externalId: string }> =>
  dueCleverbridgeSubscription(app, minutesAgo);

it('a slow charge holds one lane: the other lane charges the next batches meanwhile, each period once', async () => {
  // the slow one is due first, so it is in the first batch
  const slow = await dueSubscription(30);
  const others: { id: string; externalId: string }[] = [];
  for (let i = 0; i < 5; i += 1) {
    others.push(await dueSubscription(20 - i));
  }
  const gateway = app.app.get(GatewayRegistry).get('cleverbridge');
  const rebill = gateway.rebill?.bind(gateway);
  if (!rebill) {
    throw new Error('cleverbridge cannot rebill');
  }
  const charged: { externalId: string; endedAt: number }[] = [];
  let slowWindow: { from: number; to: number } | undefined;
  gateway.rebill = async (request: RebillInput) => {
    const from = performance.now();
    if (request.externalSubscriptionId === slow.externalId) {
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
    try {
      return await rebill(request);
    } finally {
      const to = performance.now();
      if (request.externalSubscriptionId === slow.externalId) {
        slowWindow = { from, to };
      } else if (request.externalSubscriptionId) {
        charged.push({ externalId: request.externalSubscriptionId, endedAt: to });
      }
    }
  };
  try {
    const res = await app.http.post('/ops/rebilling/run').set(OPERATOR);
    expect(res.status).toBe(200);
    const summary = res.body as RebillRunSummary;
    expect(summary.errors).toBe(0);
  } finally {
    gateway.rebill = rebill;
  }
  const mine = new Set(others.map((o) => o.externalId));
  const mineCharged = charged.filter((c) => mine.has(c.externalId));
  expect(mineCharged.map((c) => c.externalId).sort()).toEqual([...mine].sort());
  // batch-then-wait would charge only the slow one's batch partner before the slow charge ended
  const window = slowWindow;
  expect(window).toBeDefined();
  const duringSlow = mineCharged.filter((c) => window && c.endedAt < window.to);
  expect(duringSlow.length).toBeGreaterThanOrEqual(3);

  const rows: { subscription_id: string; status: string; n: string }[] = await app.app.get(DataSource).query(
    `SELECT subscription_id, status, count(*) OVER (PARTITION BY subscription_id)::text AS n
         FROM rebill_attempts WHERE subscription_id = ANY($1::uuid[])`,
    [[slow.id, ...others.map((o) => o.id)]],
  );
  expect(rows).toHaveLength(6);
  expect(rows.every((r) => r.status === 'captured' && r.n === '1')).toBe(true);
});
