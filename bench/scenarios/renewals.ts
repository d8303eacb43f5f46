import { randomUUID } from 'node:crypto';
import { describeError } from '../lib/http';
import { waitForOutbox } from '../lib/outbox';
import { AppRssSampler } from '../lib/processes';
import { setEmulatorLatency } from '../lib/sandbox';
import { ratePerSecond, round } from '../lib/stats';
import { evaluateTarget } from '../lib/targets';
import { runBatch } from './purchase';
import { databaseCpuPer, machineCpuRows } from './scenario';
import type { BenchContext, Scenario, ScenarioResult } from './scenario';
import { postWebhook, untilProcessed, webhookBody } from './webhook-intake';

/**
 * Cleeng-managed renewals from the inbox: N subscriptions bought through the API (outside the measured phase),
 * then the Cleeng emulator's clock moves a month on and it asks for every renewal at once
 * (subscriptionReadyForPaymentCapture); the app takes each from its inbox, creates the Cleeng order, charges the
 * stored card at Adyen (merchant-initiated) and reports the payment. Meanwhile other signed webhooks keep
 * arriving (the intake load): processing must not starve. A renewal counts once its payment is captured and
 * its report delivered.
 */

async function processedSince(
  ctx: BenchContext,
  since: Date,
): Promise<{ done: number; failed: number; open: number }> {
  const rows = await ctx.db.query<{ done: string; failed: string; open: string }>(
    `SELECT count(*) FILTER (WHERE p.status = 'captured' AND NOT EXISTS (
                 SELECT 1 FROM outbox_messages o WHERE o.aggregate_id = p.id::text AND o.status <> 'delivered')
               AND EXISTS (SELECT 1 FROM outbox_messages o WHERE o.aggregate_id = p.id::text))::text AS done,
            count(*) FILTER (WHERE p.status IN ('rejected', 'cancelled', 'error'))::text AS failed,
            count(*)::text AS open
       FROM payments p
      WHERE p.operation = 'recurring-payment' AND p.created_at >= $1`,
    [since],
  );
  const r = rows[0];
  return { done: Number(r?.done ?? 0), failed: Number(r?.failed ?? 0), open: Number(r?.open ?? 0) };
}

/**
 * Progress while the renewals run, cheaply: reports delivered since the phase began (one per renewal, captured or
 * failed), read through the outbox's primary key. The exact check above probes the outbox twice per payment: 22 ms
 * per poll at 3,000 renewals, every 100 ms, a sixth of PostgreSQL's CPU in the measured phase taken by the bench
 * itself; it now runs only to confirm the end.
 */
async function reportsDeliveredAfter(ctx: BenchContext, outboxId: string): Promise<number> {
  const rows = await ctx.db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM outbox_messages WHERE id > $1 AND status = 'delivered'`,
    [outboxId],
  );
  return Number(rows[0]?.n ?? 0);
}

/** A month of the sandbox's monthly offer: at most 31 days, at least 28. */
const MONTH_DAYS = 31;
/**
 * Days between seeding the warm-up cohort and the measured one. Advancing to 31 days after the first renews it
 * alone (the second's month ends ≥ 28 + 10 = 38 days after the first's start); advancing 10 more renews the second
 * (its month ends ≤ 31 + 10 = 41) but not the first again (≥ 28 + 28 = 56).
 */
const WARMUP_LEAD_DAYS = 10;

async function advanceClock(ctx: BenchContext, days: number): Promise<void> {
  await ctx.sandbox.expect('advance the Cleeng clock', 200, 'POST', '/sandbox/clock/advance', {
    body: { days },
  });
}

async function dbNow(ctx: BenchContext): Promise<Date> {
  const rows = await ctx.db.query<{ now: Date }>('SELECT now() AS now');
  return rows[0]?.now ?? new Date();
}

/** Signed webhooks of the intake load, `concurrency` in flight, until stopped. */
function intakeLoad(
  ctx: BenchContext,
  concurrency: number,
): {
  runId: string;
  stop(): Promise<{ sent: number; errors: number; elapsedMs: number; samples: string[] }>;
} {
  const runId = `${ctx.runId}-load-${randomUUID().slice(0, 8)}`;
  let stopped = concurrency === 0;
  let sent = 0;
  let errors = 0;
  let next = 0;
  const samples: string[] = [];
  const started = performance.now();
  const workers = Array.from({ length: concurrency }, async () => {
    while (!stopped && !ctx.signal.aborted) {
      const body = webhookBody(runId, String(next));
      next += 1;
      try {
        const r = await postWebhook(ctx.baseUrl, body);
        sent += 1;
        if (r.status !== 200) {
          errors += 1;
          if (samples.length < 5) {
            samples.push(`intake load: HTTP ${r.status}`);
          }
        }
      } catch (err) {
        errors += 1;
        if (samples.length < 5) {
          samples.push(`intake load: ${describeError(err)}`);
        }
      }
    }
  });
  return {
    runId,
    async stop() {
      stopped = true;
      await Promise.all(workers);
      return { sent, errors, elapsedMs: performance.now() - started, samples };
    },
  };
}

/**
 * How long the intake load's events waited to be processed (`processed_at − received_at`): they are bound for no
 * gateway (lane ''), so this is what the renewals' backlog costs every other event (docs/decisions.md, "Claim
 * lanes": 15 s at p50 with Adyen at 300 ms before lanes).
 */
async function processingWait(
  ctx: BenchContext,
  runId: string,
  window: { from: Date; to: Date },
): Promise<{ p50: number; p99: number; inWindow: number } | undefined> {
  const rows = await ctx.db.query<{ p50: number | null; p99: number | null; in_window: number }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at))::float8 AS p50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at))::float8 AS p99,
            (count(*) FILTER (WHERE processed_at BETWEEN $2 AND $3))::int AS in_window
       FROM inbox_events
      WHERE source = 'cleeng' AND payload->'data'->>'runId' = $1 AND processed_at IS NOT NULL`,
    [runId, window.from, window.to],
  );
  const row = rows[0];
  return row && row.p50 !== null && row.p99 !== null
    ? { p50: round(row.p50, 2), p99: round(row.p99, 2), inWindow: row.in_window }
    : undefined;
}

/** Adyen's inbox bound in the app's environment, as config.factory.ts derives it (defaults 16 / 8). */
export function adyenBound(env: Record<string, string>): number {
  const slots = Number(env.INBOX_CONCURRENCY ?? 16);
  const own = /(?:^|,)\s*adyen\s*=\s*(\d+)/.exec(env.INBOX_GATEWAY_CONCURRENCY_BY_GATEWAY ?? '')?.[1];
  return Math.min(slots, Number(own ?? env.INBOX_GATEWAY_CONCURRENCY ?? 8));
}

export const renewalsScenario: Scenario = {
  relativeToDbLimit: true,
  name: 'renewals',
  description:
    'Cleeng-managed renewals from the inbox (Cleeng order, Adyen MIT, report) while other signed webhooks keep ' +
    'arriving: renewals processed per second',
  flags: [
    { name: 'n', kind: 'int', default: 500, min: 1, help: 'subscriptions to renew' },
    // a renewal's code paths run from the inbox, not the API the seeding warms: measured cold, the phase paid for V8's
    // warm-up (as the purchase scenario did with 100 warm-up purchases; twelfth pass)
    {
      name: 'warmup',
      kind: 'int',
      default: 500,
      min: 0,
      help: 'subscriptions renewed first, unmeasured (JIT warm-up of the renewal path)',
    },
    { name: 'concurrency', kind: 'int', default: 50, min: 1, help: 'purchases in flight while seeding' },
    {
      name: 'intake-concurrency',
      kind: 'int',
      default: 16,
      min: 0,
      help: 'other webhooks in flight at once during the renewals (0: none)',
    },
    {
      name: 'gateway-latency-ms',
      kind: 'int',
      default: 0,
      min: 0,
      help: 'latency added by the Adyen emulator to the renewals (not the seeding)',
    },
    {
      name: 'timeout-ms',
      kind: 'int',
      default: 300_000,
      min: 1000,
      help: 'how long to wait for every renewal to be processed',
    },
    // on a 2-core host shared with PostgreSQL and the emulators, 16 / 8 (the app's defaults) gave 69–77 renewals/s at
    // 0 ms and 48 / 32 99–116/s, the other events waiting less too (performance-history.md, "Eleventh pass")
    { name: 'inbox-slots', kind: 'int', default: 48, min: 1, help: 'INBOX_CONCURRENCY' },
    {
      name: 'gateway-slots',
      kind: 'int',
      default: 32,
      min: 1,
      help: "Adyen's inbox bound (INBOX_GATEWAY_CONCURRENCY_BY_GATEWAY): renewals in flight",
    },
  ],
  quick: { n: 60, warmup: 30 },
  concurrency: (args) => args.int('concurrency'),

  appEnv: (args) => ({
    INBOX_CONCURRENCY: String(args.int('inbox-slots')),
    INBOX_GATEWAY_CONCURRENCY_BY_GATEWAY: `adyen=${args.int('gateway-slots')}`,
  }),

  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const n = ctx.args.int('n');
    const concurrency = ctx.args.int('concurrency');
    const intakeConcurrency = ctx.args.int('intake-concurrency');
    const timeoutMs = ctx.args.int('timeout-ms');
    const gatewayLatencyMs = ctx.args.int('gateway-latency-ms');
    // as the app got them: --app-env overrides the flags
    const adyenSlots = adyenBound(ctx.app.env);
    const errors: string[] = [];

    await ctx.sandbox.expect('capture-only dunning', 200, 'POST', '/sandbox/cleeng/dunning', {
      body: { authoriseFirst: false },
    });
    const warmup = ctx.args.int('warmup');
    let warmupSeed: Awaited<ReturnType<typeof runBatch>> | undefined;
    if (warmup > 0) {
      // the warm-up cohort starts WARMUP_LEAD_DAYS before the measured one, so the clock can end its period alone
      ctx.log(`renewals: seeding ${warmup} subscriptions to renew first (warm-up, unmeasured)`);
      warmupSeed = await runBatch(ctx, 'warm-up purchases', warmup, concurrency);
      await waitForOutbox(ctx.db, warmupSeed.paymentIds, 120_000);
      await advanceClock(ctx, WARMUP_LEAD_DAYS);
    }
    ctx.log(`renewals: seeding ${n} subscriptions through the API`);
    const seed = await runBatch(ctx, 'seed purchases', n, concurrency);
    const seeded = await waitForOutbox(ctx.db, seed.paymentIds, 120_000);
    if (seed.errorCount > 0 || !seeded.drained) {
      errors.push(
        `seeding: ${seed.errorCount} purchases failed, outbox ${seeded.drained ? 'drained' : 'not drained'}`,
      );
    }
    const renewing = seed.ok.length;
    if (warmupSeed) {
      const warmupSince = await dbNow(ctx);
      const started = performance.now();
      // 31 − lead days more: the warm-up cohort's month has ended, the measured cohort's (≥ 28 days) has not
      await advanceClock(ctx, MONTH_DAYS - WARMUP_LEAD_DAYS);
      let renewed = await processedSince(ctx, warmupSince);
      while (
        renewed.done + renewed.failed < warmupSeed.ok.length &&
        performance.now() - started < timeoutMs &&
        !ctx.signal.aborted
      ) {
        await new Promise((r) => setTimeout(r, 200));
        renewed = await processedSince(ctx, warmupSince);
      }
      ctx.log(
        `renewals: warm-up ${renewed.done}/${warmupSeed.ok.length} renewed in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
      if (renewed.done + renewed.failed < warmupSeed.ok.length) {
        errors.push(`warm-up: ${renewed.done}/${warmupSeed.ok.length} renewals processed`);
      }
    }
    ctx.log(`renewals: ${renewing} subscriptions ready; intake load ${intakeConcurrency} in flight`);
    await setEmulatorLatency(ctx.sandbox, 'adyen', gatewayLatencyMs);

    const rss = new AppRssSampler(ctx.app).start();
    const load = intakeLoad(ctx, intakeConcurrency);
    let loadResult = { sent: 0, errors: 0, elapsedMs: 0, samples: [] as string[] };
    const since = await dbNow(ctx);
    const outboxRows = await ctx.db.query<{ id: string }>(
      'SELECT coalesce(max(id), 0)::text AS id FROM outbox_messages',
    );
    const outboxFrom = outboxRows[0]?.id ?? '0';
    let last = { done: 0, failed: 0, open: 0 };
    // the measured window in the database's clock (processed_at is written by the app's clock, on this host)
    let windowStart = new Date();
    let windowEnd = new Date();
    const measured = await ctx.measure('renewals', async () => {
      // let the intake load reach its pace before the renewals arrive
      await new Promise((r) => setTimeout(r, 1000));
      windowStart = await dbNow(ctx);
      const started = performance.now();
      // the measured cohort's month ends: seeded WARMUP_LEAD_DAYS after the warm-up one, whose month has just ended
      await advanceClock(ctx, warmupSeed ? WARMUP_LEAD_DAYS : MONTH_DAYS);
      let lastLog = started;
      while (performance.now() - started < timeoutMs && !ctx.signal.aborted) {
        const reported = await reportsDeliveredAfter(ctx, outboxFrom);
        if (reported >= renewing) {
          last = await processedSince(ctx, since);
          if (last.done + last.failed >= renewing) {
            break;
          }
        }
        if (performance.now() - lastLog > 10_000) {
          lastLog = performance.now();
          ctx.log(
            `renewals: ${reported}/${renewing} reported in ${((lastLog - started) / 1000).toFixed(0)} s`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      const elapsedMs = performance.now() - started;
      if (last.done + last.failed < renewing) {
        last = await processedSince(ctx, since); // timed out: the exact count for the report
      }
      windowEnd = await dbNow(ctx);
      loadResult = await load.stop();
      return elapsedMs;
    });
    const appPeakRssMb = rss.stop();
    // unmeasured: the intake load's events still pending are processed here, not by the next scenario's app
    const left = await untilProcessed(ctx, load.runId, timeoutMs);
    if (left > 0) {
      errors.push(`intake load: ${left} events still pending after ${timeoutMs} ms`);
    }
    const otherWait = await processingWait(ctx, load.runId, { from: windowStart, to: windowEnd });
    const elapsedMs = measured.value;
    const rate = ratePerSecond(last.done, elapsedMs);
    if (last.done < renewing) {
      errors.push(
        `${last.done}/${renewing} renewals processed (${last.failed} failed, ${last.open} payments) in ${Math.round(elapsedMs)} ms`,
      );
    }
    errors.push(...loadResult.samples);
    const cpuPerRenewal = measured.app.cpuMs / Math.max(1, last.done);
    const ok = errors.length === 0;

    return {
      ok,
      headline:
        `renewals: ${renewing} Cleeng-managed renewals (capture-only) with ${intakeConcurrency} other webhooks in ` +
        `flight, gateway latency ${gatewayLatencyMs} ms, ${adyenSlots} Adyen slots of ${ctx.app.env.INBOX_CONCURRENCY ?? 16}`,
      summary: [
        ['renewals processed / expected', `${last.done} / ${renewing}`],
        ['renewals failed', last.failed],
        ['renewals per second (captured + reported)', round(rate, 1)],
        // Little's law, for sizing the slots to another latency or host (README, INBOX_GATEWAY_CONCURRENCY)
        [
          "time per renewal in flight (ms, Adyen's slots ÷ renewals/s)",
          rate > 0 ? round((adyenSlots / rate) * 1000, 1) : '-',
        ],
        ['all processed after (s)', round(elapsedMs / 1000, 2)],
        [
          'other webhooks taken meanwhile (/s)',
          round(ratePerSecond(loadResult.sent, loadResult.elapsedMs), 1),
        ],
        ['other webhooks errors', loadResult.errors],
        [
          'other webhooks: stored -> processed, p50 / p99 (s)',
          otherWait ? `${otherWait.p50} / ${otherWait.p99}` : '-',
        ],
        // processing shares the app with the renewals: what the renewals' rate leaves out
        [
          'other webhooks processed meanwhile (/s)',
          otherWait ? round(ratePerSecond(otherWait.inWindow, elapsedMs), 1) : '-',
        ],
        ['app CPU per renewal (ms, incl. the intake load)', round(cpuPerRenewal, 2)],
        [
          'SQL statements per renewal (incl. the intake load)',
          round(measured.app.queries / Math.max(1, last.done), 1),
        ],
        ['PostgreSQL CPU per renewal (ms, incl. the intake load)', databaseCpuPer(measured, last.done)],
        ['app peak RSS (MB)', appPeakRssMb],
        ...machineCpuRows(measured, last.done, 'renewal', { note: 'incl. the intake load', ceiling: false }),
      ],
      tables: [],
      targets: [
        evaluateTarget({
          name: 'renewals ≥ 0.1 × TPC-B-like tps (webhooks arriving)',
          unit: '/s',
          direction: 'min',
          measured: rate,
          relativeTo: { label: 'TPC-B-like tx/s', rate: ctx.dbLimit?.tpcbPerSecond, share: 0.1 },
        }),
      ],
      ...(measured.profile ? { profile: measured.profile } : {}),
      data: {
        params: { n, concurrency, intakeConcurrency, timeoutMs },
        renewals: { ...last, expected: renewing, elapsedMs: round(elapsedMs, 1), perSecond: round(rate, 2) },
        intakeLoad: loadResult,
        app: { ...measured.app, peakRssMb: appPeakRssMb, cpuPerRenewal },
      },
      errors,
    };
  },
};
