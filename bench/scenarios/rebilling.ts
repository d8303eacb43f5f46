import { RebillingService, RebillRunSummary } from '../../src/rebilling/rebilling.service';
import { parseProcessCart } from '../../sandbox/cleverbridge/cleverbridge-sandbox.parse';
import { CleverbridgeSandboxStore } from '../../sandbox/cleverbridge/cleverbridge-sandbox.store';
import { EventLoopMonitor, RssSampler } from '../lib/memory';
import { clearFaults, setEmulatorLatency } from '../lib/sandbox';
import { round } from '../lib/stats';
import type { Cell } from '../lib/table';
import type { BenchContext, Scenario, ScenarioResult } from './scenario';

/** Every row this scenario writes has a customer id with this prefix, so a run can clear the last one's. */
const PREFIX = 'bench-rebill-';
const PROBE_PREFIX = 'bench-claim-';
/** Claim probes are due in 2001: nothing else in the database is. */
const PROBE_DUE = new Date('2001-06-01T00:00:00Z');
const MONTHLY_MINOR = 999;

function parseSizes(text: string): number[] {
  if (text.trim() === '') {
    return [];
  }
  return text.split(',').map((part) => {
    const n = Number(part.trim().replace(/_/g, ''));
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new Error(`--claim-sizes: "${part}" is not a positive integer`);
    }
    return n;
  });
}

async function count(ctx: BenchContext, sql: string, params: unknown[] = []): Promise<number> {
  const rows: { n: string }[] = await ctx.db.query(sql, params);
  return Number(rows[0]?.n ?? 0);
}

/**
 * The Cleverbridge emulator must know every subscription it is asked to rebill. Creating them through HTTP
 * would measure the emulator, not the connector, so they are made in its store directly: one initial purchase
 * of the monthly product per customer, which creates a "Handled by Client" subscription.
 */
function seedEmulator(store: CleverbridgeSandboxStore, n: number, runId: string): string[] {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 1) {
    const parsed = parseProcessCart({
      processCartRequest: {
        cart: { items: [{ productId: '100001', quantity: 1 }], customerReferenceId: `${runId}-${i}` },
        processCartMode: 'NonInteractive',
      },
    });
    if (!parsed.ok) {
      throw new Error(`emulator refused the seed cart: ${parsed.message}`);
    }
    const body = store.processCart(parsed.cart).body as { subscriptionId?: string };
    if (!body.subscriptionId) {
      throw new Error(`emulator created no subscription: ${JSON.stringify(body)}`);
    }
    ids.push(body.subscriptionId);
  }
  return ids;
}

/** N connector subscriptions, all due now, in one INSERT ... SELECT. */
async function seedSubscriptions(ctx: BenchContext, externalIds: string[], due: Date): Promise<void> {
  await ctx.db.query(
    `INSERT INTO connector_subscriptions (customer_id, gateway, external_subscription_id, product_id, amount_minor,
       currency, billing_interval, billing_anchor, next_billing_at, next_attempt_at, status)
     SELECT $3 || ord, 'cleverbridge', ext, '100001', $4, 'USD', 'P1M', $2, $2, $2, 'active'
     FROM unnest($1::text[]) WITH ORDINALITY AS t(ext, ord)`,
    [externalIds, due, PREFIX, MONTHLY_MINOR],
  );
}

async function clearPrevious(ctx: BenchContext): Promise<number> {
  const like = [`${PREFIX}%`, `${PROBE_PREFIX}%`];
  await ctx.db.query(
    `DELETE FROM rebill_attempts WHERE subscription_id IN
       (SELECT id FROM connector_subscriptions WHERE customer_id LIKE $1 OR customer_id LIKE $2)`,
    like,
  );
  const deleted = await ctx.db.query(
    `DELETE FROM connector_subscriptions WHERE customer_id LIKE $1 OR customer_id LIKE $2`,
    like,
  );
  // notifications an earlier run left unprocessed (its app closed first) would compete with this run's
  await ctx.db.query(
    `UPDATE inbox_events SET status = 'ignored', processed_at = now(), last_error = 'left by an earlier benchmark run'
     WHERE source = 'cleverbridge' AND status = 'pending'`,
  );
  return Array.isArray(deleted) && typeof deleted[1] === 'number' ? deleted[1] : 0;
}

interface ClaimTiming {
  dueRows: number;
  tableRows: number;
  batch: number;
  claimed: number;
  minMs: number;
  medianMs: number;
  maxMs: number;
}

/**
 * Times one claim of a batch with `size` due subscriptions in the table (probe rows seeded with
 * generate_series), a few times, releasing the leases in between.
 */
async function timeClaims(
  ctx: BenchContext,
  service: RebillingService,
  sizes: number[],
  batch: number,
  samples: number,
): Promise<ClaimTiming[]> {
  const timings: ClaimTiming[] = [];
  let seeded = 0;
  for (const size of [...sizes].sort((a, b) => a - b)) {
    if (size > seeded) {
      const started = performance.now();
      await ctx.db.query(
        `INSERT INTO connector_subscriptions (customer_id, gateway, external_subscription_id, product_id, amount_minor,
           currency, billing_interval, billing_anchor, next_billing_at, next_attempt_at, status)
         SELECT $1 || i, 'cleverbridge', $1 || i, '100001', $2, 'USD', 'P1M', t, t, t, 'active'
         FROM generate_series($3::int, $4::int) AS i,
              LATERAL (SELECT timestamptz '2001-01-01' + (i % 86400) * interval '1 second' AS t) x`,
        [PROBE_PREFIX, MONTHLY_MINOR, seeded + 1, size],
      );
      await ctx.db.query('ANALYZE connector_subscriptions');
      ctx.log(
        `claim probe: ${size} due rows seeded in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
      seeded = size;
    }
    const tableRows = await count(ctx, 'SELECT count(*)::text AS n FROM connector_subscriptions');
    const ms: number[] = [];
    let claimed = 0;
    for (let i = 0; i < samples; i += 1) {
      const started = performance.now();
      const rows = await service.claim({ due: PROBE_DUE, now: () => PROBE_DUE }, batch);
      ms.push(performance.now() - started);
      claimed = rows.length;
      await ctx.db.query(
        `UPDATE connector_subscriptions SET lease_owner = NULL, lease_until = NULL WHERE id = ANY($1::uuid[])`,
        [rows.map((r) => r.subscription.id)],
      );
    }
    ms.sort((a, b) => a - b);
    timings.push({
      dueRows: size,
      tableRows,
      batch,
      claimed,
      minMs: round(ms[0] ?? 0, 1),
      medianMs: round(ms[Math.floor(ms.length / 2)] ?? 0, 1),
      maxMs: round(ms[ms.length - 1] ?? 0, 1),
    });
  }
  return timings;
}

export const rebillingScenario: Scenario = {
  name: 'rebilling',
  description:
    'Connector-managed rebilling: N due Cleverbridge subscriptions charged by one runDue pass through the ' +
    'ProcessCart emulator (claim with SKIP LOCKED + lease, bounded concurrency); then the time to claim one batch ' +
    'with 10k and 1M due subscriptions in the table',
  flags: [
    { name: 'n', kind: 'int', default: 100_000, min: 1, help: 'due subscriptions to rebill' },
    {
      name: 'gateway-latency-ms',
      kind: 'int',
      default: 50,
      min: 0,
      help: 'latency added by the Cleverbridge emulator (/sandbox/faults/cleverbridge latencyMs)',
    },
    { name: 'batch-size', kind: 'int', default: 500, min: 1, help: 'REBILL_BATCH_SIZE' },
    { name: 'concurrency', kind: 'int', default: 64, min: 1, help: 'REBILL_CONCURRENCY' },
    {
      name: 'claim-sizes',
      kind: 'string',
      default: '10000,1000000',
      help: 'due subscriptions in the table when timing one claim, comma-separated ("" to skip)',
    },
    { name: 'claim-samples', kind: 'int', default: 5, min: 1, help: 'claims timed per size' },
    {
      name: 'lose-notifications',
      kind: 'bool',
      default: false,
      help: 'drop the emulator PaidOrderNotifications (measure the rebill path alone)',
    },
    {
      name: 'drain-timeout-ms',
      kind: 'int',
      default: 300_000,
      min: 0,
      help: 'how long to wait for the notifications to be processed after the run (0: do not wait)',
    },
  ],

  appEnv: (args) => ({
    REBILL_CRON: 'off',
    REBILL_BATCH_SIZE: String(args.int('batch-size')),
    REBILL_CONCURRENCY: String(args.int('concurrency')),
    DATABASE_POOL_SIZE: String(Math.min(64, Math.max(10, Math.ceil(args.int('concurrency') / 2)))),
  }),

  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const n = ctx.args.int('n');
    const latencyMs = ctx.args.int('gateway-latency-ms');
    const batch = ctx.args.int('batch-size');
    const concurrency = ctx.args.int('concurrency');
    const claimSizes = parseSizes(ctx.args.string('claim-sizes'));
    const samples = ctx.args.int('claim-samples');
    const loseNotifications = ctx.args.bool('lose-notifications');
    const drainTimeoutMs = ctx.args.int('drain-timeout-ms');
    const service = ctx.app.app.get(RebillingService);
    const store = ctx.app.app.get(CleverbridgeSandboxStore);
    const errors: string[] = [];

    const cleared = await clearPrevious(ctx);
    if (cleared > 0) {
      ctx.log(`removed ${cleared} subscriptions of earlier runs`);
    }
    let started = performance.now();
    const externalIds = seedEmulator(store, n, `bench-${ctx.runId}`);
    const emulatorSeedMs = performance.now() - started;
    started = performance.now();
    const due = new Date(Date.now() - 60_000);
    await seedSubscriptions(ctx, externalIds, due);
    await ctx.db.query('ANALYZE connector_subscriptions');
    const dbSeedMs = performance.now() - started;
    ctx.log(
      `seeded ${n} subscriptions: emulator ${(emulatorSeedMs / 1000).toFixed(1)} s, ` +
        `database (one INSERT ... SELECT) ${(dbSeedMs / 1000).toFixed(1)} s`,
    );

    await setEmulatorLatency(ctx.http, 'cleverbridge', latencyMs);
    if (loseNotifications) {
      await ctx.http.expect('lose notifications', 200, 'POST', '/sandbox/faults/cleverbridge', {
        body: { lostWebhookRate: 1 },
      });
    }
    // the emulator's own state (every seeded customer, purchase and subscription) is part of the process
    const rssBeforeMb = Math.round(process.memoryUsage().rss / 1024 / 1024);
    let summary: RebillRunSummary;
    let runMs: number;
    let memoryPeakMb: number;
    let loop: ReturnType<EventLoopMonitor['stop']>;
    const inboxSince = new Date();
    try {
      ctx.log(
        `rebilling ${n} due subscriptions: batch ${batch}, concurrency ${concurrency}, gateway latency ${latencyMs} ms`,
      );
      const rss = new RssSampler(50).start();
      const monitor = new EventLoopMonitor().start();
      const progress = setInterval(() => {
        void count(
          ctx,
          `SELECT count(*)::text AS n FROM rebill_attempts a JOIN connector_subscriptions s ON s.id = a.subscription_id
           WHERE s.customer_id LIKE $1 AND a.status = 'captured'`,
          [`${PREFIX}%`],
        ).then(
          (done) =>
            ctx.log(
              `rebilling: ${done}/${n} captured, ${((performance.now() - started) / 1000).toFixed(0)} s`,
            ),
          () => undefined,
        );
      }, 10_000);
      started = performance.now();
      try {
        summary = await service.runDue(new Date());
      } finally {
        clearInterval(progress);
      }
      runMs = performance.now() - started;
      memoryPeakMb = rss.stop().peakMb;
      loop = monitor.stop();
    } finally {
      await clearFaults(ctx.http, 'cleverbridge').catch(() => undefined);
    }
    ctx.log(`pass done in ${(runMs / 1000).toFixed(1)} s: ${JSON.stringify(summary)}`);

    // every period charged exactly once: one captured attempt per subscription, one Paid rebill per subscription
    const attemptsCaptured = await count(
      ctx,
      `SELECT count(*)::text AS n FROM rebill_attempts a JOIN connector_subscriptions s ON s.id = a.subscription_id
       WHERE s.customer_id LIKE $1 AND a.status = 'captured'`,
      [`${PREFIX}%`],
    );
    const attemptsTotal = await count(
      ctx,
      `SELECT count(*)::text AS n FROM rebill_attempts a JOIN connector_subscriptions s ON s.id = a.subscription_id
       WHERE s.customer_id LIKE $1`,
      [`${PREFIX}%`],
    );
    const advanced = await count(
      ctx,
      `SELECT count(*)::text AS n FROM connector_subscriptions WHERE customer_id LIKE $1 AND period_index = 1`,
      [`${PREFIX}%`],
    );
    const mine = new Set(externalIds);
    const charges = new Map<string, number>();
    for (const p of store.ledger().purchases) {
      if (p.rebill && p.subscriptionId && mine.has(p.subscriptionId) && p.status === 'Paid') {
        charges.set(p.subscriptionId, (charges.get(p.subscriptionId) ?? 0) + 1);
      }
    }
    const chargedTwice = [...charges.values()].filter((c) => c > 1).length;
    const exactlyOnce =
      charges.size === n && chargedTwice === 0 && attemptsCaptured === n && attemptsTotal === n;
    if (!exactlyOnce) {
      errors.push(
        `expected ${n} subscriptions charged once: ${charges.size} charged, ${chargedTwice} twice, ` +
          `${attemptsCaptured}/${attemptsTotal} attempts captured`,
      );
    }

    // the PaidOrderNotifications the run caused, through intake and processing (informational: the inbox
    // shares the process with the pass, so it catches up afterwards)
    let drain: { ms: number } | { timedOut: true; pending: number } | undefined;
    if (!loseNotifications && drainTimeoutMs > 0) {
      const drainStarted = performance.now();
      await ctx.http
        .request('GET', `/sandbox/cleverbridge/webhooks/idle?timeoutMs=25000`)
        .catch(() => undefined);
      for (;;) {
        const rows: { received: string; pending: string }[] = await ctx.db.query(
          `SELECT count(*)::text AS received, count(*) FILTER (WHERE status = 'pending')::text AS pending
           FROM inbox_events WHERE source = 'cleverbridge' AND received_at >= $1`,
          [inboxSince],
        );
        const received = Number(rows[0]?.received ?? 0);
        const pending = Number(rows[0]?.pending ?? 0);
        if (pending === 0 && received >= n) {
          drain = { ms: performance.now() - drainStarted };
          break;
        }
        if (performance.now() - drainStarted > drainTimeoutMs) {
          drain = { timedOut: true, pending };
          ctx.log(`notifications: ${pending} still pending after ${drainTimeoutMs} ms`);
          break;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    const drainCell =
      drain === undefined
        ? 'n/a'
        : 'ms' in drain
          ? round(drain.ms / 1000, 2)
          : `> ${drainTimeoutMs / 1000} (${drain.pending} pending)`;

    ctx.log(`timing claims at ${claimSizes.join(', ')} due subscriptions`);
    const claims = await timeClaims(ctx, service, claimSizes, batch, samples);
    await clearPrevious(ctx);

    const chargesPerSecond = runMs > 0 ? (summary.captured / runMs) * 1000 : 0;
    const ok = errors.length === 0 && summary.errors === 0 && exactlyOnce;
    const claimRows: Cell[][] = claims.map((c) => [
      c.dueRows,
      c.tableRows,
      c.batch,
      c.claimed,
      c.minMs,
      c.medianMs,
      c.maxMs,
    ]);
    return {
      ok,
      headline:
        `rebilling: ${n} due subscriptions, one runDue pass, batch ${batch}, concurrency ${concurrency}, ` +
        `Cleverbridge latency ${latencyMs} ms${loseNotifications ? ', notifications dropped' : ''}`,
      summary: [
        ['subscriptions charged / due', `${summary.captured} / ${n}`],
        ['each period charged exactly once', exactlyOnce],
        ['charges/s', round(chargesPerSecond, 1)],
        ['total time of the pass (s)', round(runMs / 1000, 2)],
        ['batches claimed', summary.batches],
        ['errors', summary.errors],
        ['peak RSS during the pass, app + emulator (MB)', memoryPeakMb],
        ['RSS before the pass, after seeding the emulator (MB)', rssBeforeMb],
        ['event loop delay p99 / max (ms)', `${loop.p99Ms} / ${loop.maxMs}`],
        ['notifications processed after the pass (s)', drainCell],
        [
          'seeding: emulator / database (s)',
          `${round(emulatorSeedMs / 1000, 1)} / ${round(dbSeedMs / 1000, 1)}`,
        ],
        ['subscriptions advanced one period', advanced],
      ],
      tables: [
        {
          title: `time to claim one batch (${samples} claims each, leases released in between)`,
          headers: ['due rows', 'table rows', 'batch', 'claimed', 'min ms', 'median ms', 'max ms'],
          rows: claimRows,
        },
      ],
      data: {
        params: { n, latencyMs, batch, concurrency, claimSizes, samples, loseNotifications },
        pass: summary,
        chargesPerSecond: round(chargesPerSecond, 2),
        runMs: round(runMs, 1),
        peakRssMb: memoryPeakMb,
        rssBeforeMb,
        eventLoop: loop,
        exactlyOnce,
        attempts: { captured: attemptsCaptured, total: attemptsTotal },
        advanced,
        notificationsDrain: drain ?? null,
        seedingMs: { emulator: round(emulatorSeedMs, 1), database: round(dbSeedMs, 1) },
        claims,
      },
      errors,
    };
  },
};
