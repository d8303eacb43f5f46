import { createHmac, randomUUID } from 'node:crypto';
import { EventLoopMonitor, RssSampler } from '../lib/memory';
import { runPool } from '../lib/pool';
import { progressReporter } from '../lib/progress';
import { ratePerSecond, round, roundSummary, summarize } from '../lib/stats';
import type { BenchContext, Scenario, ScenarioResult } from './scenario';

/** The sandbox's Cleeng webhook secret and header (sandbox/sandbox-settings.ts SANDBOX_SECRETS). */
const SECRET = 'sandbox-cleeng-webhook-secret';
const PAYMENT_METHOD_OF_ANOTHER_CONNECTOR = 990001;

interface Sent {
  ms: number;
  status: number;
  duplicate: boolean;
}

/**
 * Webhook intake: signed Cleeng webhooks POSTed to /webhooks/cleeng (verify, store, acknowledge),
 * a share of them delivered twice. Intake latency is what Cleeng waits for; processing happens after.
 * The events name another connector's payment method, so processing is the router's cheapest path
 * and the numbers show the intake itself.
 */
async function post(ctx: BenchContext, body: string): Promise<Sent> {
  const signature = createHmac('sha256', SECRET).update(body).digest('hex');
  const started = performance.now();
  const res = await fetch(`${ctx.baseUrl}/webhooks/cleeng`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-cleeng-signature': signature },
    body,
    signal: AbortSignal.timeout(30_000),
  });
  const json = (await res.json()) as { duplicate?: boolean };
  return { ms: performance.now() - started, status: res.status, duplicate: json.duplicate === true };
}

async function inboxState(ctx: BenchContext, runId: string): Promise<Record<string, number>> {
  const rows: { status: string; n: number }[] = await ctx.db.query(
    `SELECT status, count(*)::int AS n FROM inbox_events WHERE source = 'cleeng' AND payload->'data'->>'runId' = $1 GROUP BY status`,
    [runId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

export const webhookIntakeScenario: Scenario = {
  name: 'webhooks',
  description:
    'Webhook intake: signed Cleeng webhooks -> verify, store in the inbox, acknowledge; then processing drain',
  flags: [
    { name: 'n', kind: 'int', default: 2000, min: 1, help: 'webhooks to send' },
    { name: 'concurrency', kind: 'int', default: 32, min: 1, help: 'webhooks in flight at once' },
    {
      name: 'duplicate-percent',
      kind: 'int',
      default: 10,
      min: 0,
      help: 'share of webhooks delivered a second time',
    },
    {
      name: 'drain-timeout-ms',
      kind: 'int',
      default: 120_000,
      min: 0,
      help: 'how long to wait for processing',
    },
  ],

  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const n = ctx.args.int('n');
    const concurrency = ctx.args.int('concurrency');
    const duplicatePercent = ctx.args.int('duplicate-percent');
    const drainTimeoutMs = ctx.args.int('drain-timeout-ms');
    const runId = `${ctx.runId}-${randomUUID().slice(0, 8)}`;
    const bodies = Array.from({ length: n }, (_, i) =>
      JSON.stringify({
        broadcasterId: 900000001,
        topic: 'subscriptionReadyForTermination',
        data: { subscriptionId: String(i), paymentMethodId: PAYMENT_METHOD_OF_ANOTHER_CONNECTOR, runId },
      }),
    );
    const duplicates = Math.floor((n * duplicatePercent) / 100);
    const plan = [...bodies, ...bodies.slice(0, duplicates)];

    const rss = new RssSampler(50).start();
    const loop = new EventLoopMonitor().start();
    const report = progressReporter('webhooks', plan.length);
    let errors = 0;
    const samples: string[] = [];
    const result = await runPool<Sent>({
      total: plan.length,
      concurrency,
      task: (i) => post(ctx, plan[i] ?? ''),
      signal: ctx.signal,
      onSettled: (done, outcome) => {
        if (!outcome.ok || outcome.value.status !== 200) {
          errors += 1;
          if (samples.length < 5) {
            samples.push(outcome.ok ? `HTTP ${outcome.value.status}` : String(outcome.error));
          }
        }
        report(done, errors);
      },
    });
    const sent = result.outcomes.flatMap((o) => (o.ok ? [o.value] : []));
    const acknowledgedDuplicates = sent.filter((s) => s.duplicate).length;

    // processing drain: every stored event leaves `pending`
    const drainStarted = performance.now();
    let state = await inboxState(ctx, runId);
    while ((state.pending ?? 0) > 0 && performance.now() - drainStarted < drainTimeoutMs) {
      await new Promise((r) => setTimeout(r, 100));
      state = await inboxState(ctx, runId);
    }
    const drainMs = performance.now() - drainStarted;
    const memory = rss.stop();
    const eventLoop = loop.stop();
    const stored = Object.values(state).reduce((a, b) => a + b, 0);
    const latency = roundSummary(summarize(sent.map((s) => s.ms)));
    const ok =
      errors === 0 && stored === n && (state.pending ?? 0) === 0 && acknowledgedDuplicates >= duplicates;

    return {
      ok,
      headline: `webhooks: ${plan.length} signed Cleeng webhooks (${duplicates} redeliveries), concurrency ${concurrency}`,
      summary: [
        [
          'webhooks sent / acknowledged 200',
          `${plan.length} / ${sent.filter((s) => s.status === 200).length}`,
        ],
        ['errors', errors],
        ['intake throughput (webhooks/s)', round(ratePerSecond(sent.length, result.elapsedMs), 1)],
        ['stored events (unique) / expected', `${stored} / ${n}`],
        ['redeliveries answered as duplicates', `${acknowledgedDuplicates} / ${duplicates}`],
        [
          'processed, all left pending (s after intake)',
          (state.pending ?? 0) === 0 ? round(drainMs / 1000, 2) : 'timed out',
        ],
        [
          'processing throughput (events/s)',
          (state.pending ?? 0) === 0 ? round(ratePerSecond(stored, drainMs + result.elapsedMs), 1) : '-',
        ],
        ['peak RSS, app + load generator (MB)', memory.peakMb],
        ['event loop delay p99 / max (ms)', `${eventLoop.p99Ms} / ${eventLoop.maxMs}`],
      ],
      tables: [
        {
          title: 'intake latency (ms): POST /webhooks/cleeng -> 200',
          headers: ['count', 'mean', 'p50', 'p90', 'p99', 'max'],
          rows: [[latency.count, latency.mean, latency.p50, latency.p90, latency.p99, latency.max]],
        },
      ],
      data: {
        params: { n, concurrency, duplicatePercent },
        inbox: state,
        latency,
        memory,
        eventLoop,
        drainMs,
      },
      errors: samples,
    };
  },
};
