import { createHmac, randomUUID } from 'node:crypto';
import { send, sendForStatus } from '../lib/http';
import { runPool } from '../lib/pool';
import { progressReporter } from '../lib/progress';
import { AppRssSampler } from '../lib/processes';
import type { ServerLatency } from '../lib/probe-protocol';
import { ratePerSecond, round, roundSummary, summarize } from '../lib/stats';
import { evaluateTarget } from '../lib/targets';
import { databaseCpuPer, machineCeiling, machineCpuRows } from './scenario';
import type { BenchContext, Scenario, ScenarioResult } from './scenario';

/** The sandbox's Cleeng webhook secret and header (sandbox/sandbox-settings.ts SANDBOX_SECRETS). */
const SECRET = 'sandbox-cleeng-webhook-secret';
const PAYMENT_METHOD_OF_ANOTHER_CONNECTOR = 990001;

export interface Sent {
  ms: number;
  status: number;
  duplicate: boolean;
}

/**
 * A signed Cleeng webhook that names another connector's payment method: processing takes the router's cheapest
 * path, so the numbers show the intake itself.
 */
export function webhookBody(runId: string, subscriptionId: string): string {
  return JSON.stringify({
    broadcasterId: 900000001,
    topic: 'subscriptionReadyForTermination',
    data: { subscriptionId, paymentMethodId: PAYMENT_METHOD_OF_ANOTHER_CONNECTOR, runId },
  });
}

export async function postWebhook(baseUrl: string, body: string): Promise<Sent> {
  const started = performance.now();
  const res = await send(`${baseUrl}/webhooks/cleeng`, 'POST', signedHeaders(body), body, 30_000);
  const duplicate =
    res.status === 200 && (JSON.parse(res.text) as { duplicate?: boolean }).duplicate === true;
  return { ms: performance.now() - started, status: res.status, duplicate };
}

/** A signed webhook whose answer is read for its status only. */
function postSigned(origin: string, webhook: SignedWebhook): Promise<number> {
  return sendForStatus(origin, '/webhooks/cleeng', webhook.headers, webhook.body, 30_000);
}

/** Inbox events by status: a run's own signed webhooks, or with no run every event (a gateway's notifications too). */
async function inboxState(ctx: BenchContext, runId: string | undefined): Promise<Record<string, number>> {
  const rows = await ctx.db.query<{ status: string; n: number }>(
    runId === undefined
      ? `SELECT status, count(*)::int AS n FROM inbox_events GROUP BY status`
      : `SELECT status, count(*)::int AS n FROM inbox_events WHERE source = 'cleeng' AND payload->'data'->>'runId' = $1 GROUP BY status`,
    runId === undefined ? [] : [runId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/**
 * Pending events (a run's, or every one), read through the inbox's partial index of pending events: polled every
 * 100 ms inside measured phases, so it must not read the whole inbox (counting every status there took 85 ms of
 * PostgreSQL's time a poll on a bench database that had kept 600,000 events).
 */
async function pendingCount(ctx: BenchContext, runId: string | undefined): Promise<number> {
  const rows = await ctx.db.query<{ n: number }>(
    runId === undefined
      ? `SELECT count(*)::int AS n FROM inbox_events WHERE status = 'pending'`
      : // no condition on source: the planner would AND in the natural key's index, read for every Cleeng event
        `SELECT count(*)::int AS n FROM inbox_events WHERE status = 'pending' AND payload->'data'->>'runId' = $1`,
    runId === undefined ? [] : [runId],
  );
  return rows[0]?.n ?? 0;
}

/** Waits until none of the run's events (none at all without a run) is pending, or `timeoutMs`; the number left. */
export async function untilProcessed(
  ctx: BenchContext,
  runId: string | undefined,
  timeoutMs: number,
): Promise<number> {
  const started = performance.now();
  let pending = await pendingCount(ctx, runId);
  while (pending > 0 && performance.now() - started < timeoutMs) {
    await new Promise((r) => setTimeout(r, 100));
    pending = await pendingCount(ctx, runId);
  }
  return pending;
}

interface OpenLoopResult {
  rate: number;
  planned: number;
  sent: number;
  errors: number;
  /** from the scheduled send time to the answer: a late start counts against the app (no coordinated omission) */
  latency: ReturnType<typeof roundSummary>;
  /**
   * from the scheduled send time to the webhook's hand-over to the HTTP client: the sender's own lateness (its
   * timer's granularity, its pauses, its time off a core), a part of `latency` the app did not cause
   */
  dispatchLag: ReturnType<typeof roundSummary>;
  maxInFlight: number;
  elapsedMs: number;
  /** the bench's own CPU per webhook while sending and waiting (signing done before): what the app did not cause */
  generatorCpuMs: number;
}

/** One open-loop phase: the sender's view, the app's, and how long its backlog took afterwards. */
interface OpenLoopPhase {
  result: OpenLoopResult;
  /** undefined: the probe sent no recording */
  inApp?: ServerLatency;
  /** undefined: the drain timed out */
  drainMs?: number;
}

/** The summary's rows for a phase; `brief` keeps the sender's and the app's latency only. */
function openLoopRows(
  label: string,
  phase: OpenLoopPhase | undefined,
  brief = false,
): [string, string | number][] {
  if (phase === undefined) {
    return [[`${label}: rate / sent / p50 / p99 (ms)`, 'skipped']];
  }
  const { result, inApp, drainMs } = phase;
  const rows: [string, string | number][] = [
    [
      `${label}: rate / sent / p50 / p99 (ms)`,
      `${round(result.rate, 0)} / ${result.sent} / ${result.latency.p50} / ${result.latency.p99}`,
    ],
    [
      `${label}: sender's dispatch lag p50 / p99 / max (ms behind schedule)`,
      `${result.dispatchLag.p50} / ${result.dispatchLag.p99} / ${result.dispatchLag.max}`,
    ],
    [
      `${label} in the app: p50 / p99 / max (ms, request read -> answer written)`,
      inApp ? `${round(inApp.p50Ms)} / ${round(inApp.p99Ms)} / ${round(inApp.maxMs)}` : '-',
    ],
  ];
  if (brief) {
    return rows;
  }
  return [
    ...rows,
    [
      `${label} in the app: event-loop delay p99 / max (ms); GC pauses, longest (ms)`,
      inApp
        ? `${round(inApp.loopDelayP99Ms)} / ${round(inApp.loopDelayMaxMs)}; ${inApp.gcPauses}, ${round(inApp.gcPauseMaxMs)}`
        : '-',
    ],
    [`${label}: load generator CPU per webhook (ms, bench process)`, round(result.generatorCpuMs, 3)],
    [
      `${label}: backlog processed after (s, after the last send)`,
      drainMs === undefined ? 'timed out' : round(drainMs / 1000, 2),
    ],
  ];
}

function openLoopData(phase: OpenLoopPhase): Record<string, unknown> {
  return { ...phase.result, drainMs: phase.drainMs ?? null, inApp: phase.inApp ?? null };
}

/**
 * Above the machine's ceiling (intake and processing at the closed loop's CPU per webhook) the target's open loop
 * measures a queue growing for the whole phase; the rate of a second, informational open loop that shows how the
 * intake answers at 80 % of what this machine took. Undefined when the target's rate is within the ceiling, when
 * the rate was fixed by hand, or without a ceiling (off Linux).
 */
export function informationalOpenLoopRate(o: {
  openRate: number;
  fixed: boolean;
  ceiling: number | undefined;
  intakeRate: number;
}): number | undefined {
  if (o.fixed || o.ceiling === undefined || o.openRate <= o.ceiling) {
    return undefined;
  }
  return 0.8 * Math.min(o.intakeRate, o.ceiling);
}

/** A webhook ready to send: its body and signature made before the phase that times it. */
interface SignedWebhook {
  body: Buffer;
  headers: Record<string, string>;
}

function signedWebhook(body: string): SignedWebhook {
  return {
    body: Buffer.from(body),
    headers: signedHeaders(body),
  };
}

function signedHeaders(body: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-cleeng-signature': createHmac('sha256', SECRET).update(body).digest('hex'),
  };
}

/**
 * Open loop: webhooks arrive at a fixed rate whatever the app does (as Cleeng sends them), for `seconds`;
 * at most `maxInFlight` wait at once (beyond that a webhook is counted late, started when a slot frees).
 * The load generator shares the machine's two cores with the app and PostgreSQL, and its own pauses are counted
 * in every answer it waits for: so the webhooks are signed before the phase, answers are read for their status
 * only, and nothing is kept per webhook but its latency (docs/performance-history.md, nineteenth pass).
 */
export async function openLoop(
  ctx: BenchContext,
  runId: string,
  rate: number,
  seconds: number,
  maxInFlight: number,
): Promise<OpenLoopResult> {
  const planned = Math.max(1, Math.round(rate * seconds));
  const webhooks = Array.from({ length: planned }, (_, i) => signedWebhook(webhookBody(runId, `open-${i}`)));
  const origin = new URL(ctx.baseUrl).origin;
  const latencies = new Float64Array(planned);
  const dispatchLags = new Float64Array(planned);
  let answered = 0;
  let errors = 0;
  let inFlight = 0;
  let peak = 0;
  let next = 0;
  let allSent = false;
  let allAnswered = (): void => undefined;
  const answeredAll = new Promise<void>((resolve) => {
    allAnswered = resolve;
  });
  const settle = (i: number, scheduled: number, ok: boolean): void => {
    latencies[i] = performance.now() - scheduled;
    inFlight -= 1;
    answered += 1;
    if (!ok) {
      errors += 1;
    }
    if (allSent && answered === next) {
      allAnswered();
    }
  };
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await new Promise<void>((done) => {
    const tick = (): void => {
      const due = Math.min(planned, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
      while (next < due && inFlight < maxInFlight && !ctx.signal.aborted) {
        const i = next;
        const scheduled = started + (i / rate) * 1000;
        dispatchLags[i] = performance.now() - scheduled;
        const webhook = webhooks[i] as SignedWebhook;
        next += 1;
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        postSigned(origin, webhook).then(
          (status) => settle(i, scheduled, status === 200),
          () => settle(i, scheduled, false),
        );
      }
      if (next >= planned || ctx.signal.aborted) {
        done();
      } else {
        setTimeout(tick, 2);
      }
    };
    tick();
  });
  allSent = true;
  if (answered < next) {
    await answeredAll;
  }
  const cpu = process.cpuUsage(cpuBefore);
  return {
    rate,
    planned,
    sent: next,
    errors,
    latency: roundSummary(summarize(Array.from(latencies.subarray(0, next)))),
    dispatchLag: roundSummary(summarize(Array.from(dispatchLags.subarray(0, next)))),
    maxInFlight: peak,
    elapsedMs: performance.now() - started,
    generatorCpuMs: (cpu.user + cpu.system) / 1000 / Math.max(1, next),
  };
}

export const webhookIntakeScenario: Scenario = {
  relativeToDbLimit: true,
  name: 'webhooks',
  description:
    'Webhook intake: signed Cleeng webhooks -> verify, store in the inbox, acknowledge (closed loop, then open loop ' +
    "at 80 % of the target rate for the p99, and at 80 % of the intake reached when that rate is above the machine's " +
    'ceiling); processing drain',
  flags: [
    { name: 'n', kind: 'int', default: 6000, min: 1, help: 'webhooks to send in the closed-loop phase' },
    {
      name: 'concurrency',
      kind: 'int',
      default: 50,
      min: 1,
      help: 'webhooks in flight at once (closed loop)',
    },
    {
      name: 'duplicate-percent',
      kind: 'int',
      default: 10,
      min: 0,
      help: 'share of webhooks delivered a second time',
    },
    {
      name: 'warmup',
      kind: 'int',
      default: 3000,
      min: 0,
      help: 'unmeasured webhooks first (JIT and connections; the first few thousand cost up to twice the CPU)',
    },
    {
      name: 'open-loop-seconds',
      kind: 'int',
      default: 5,
      min: 0,
      help: 'open-loop phase at 0.8 × (0.5 × insert rate) webhooks/s for the p99 (0: skip)',
    },
    {
      name: 'open-loop-rate',
      kind: 'number',
      default: 0,
      min: 0,
      help: 'fixed arrival rate of the open-loop phase (0: 80 % of the target intake rate)',
    },
    {
      name: 'open-loop-max-in-flight',
      kind: 'int',
      default: 2000,
      min: 1,
      help: 'open loop: webhooks waiting at once before further ones start late',
    },
    {
      name: 'drain-timeout-ms',
      kind: 'int',
      default: 180_000,
      min: 0,
      help: 'how long to wait for processing',
    },
  ],
  quick: { n: 600, warmup: 200, 'open-loop-seconds': 2 },
  concurrency: (args) => args.int('concurrency'),

  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const n = ctx.args.int('n');
    const concurrency = ctx.args.int('concurrency');
    const duplicatePercent = ctx.args.int('duplicate-percent');
    const drainTimeoutMs = ctx.args.int('drain-timeout-ms');
    const openSeconds = ctx.args.int('open-loop-seconds');
    const runId = `${ctx.runId}-${randomUUID().slice(0, 8)}`;
    const bodies = Array.from({ length: n }, (_, i) => webhookBody(runId, String(i)));
    const duplicates = Math.floor((n * duplicatePercent) / 100);
    const plan = [...bodies, ...bodies.slice(0, duplicates)];

    // warm-up: the first requests pay for JIT (still compiling after a thousand) and connection set-up
    const warmup = ctx.args.int('warmup');
    if (warmup > 0) {
      ctx.log(`warm-up: ${warmup} webhooks`);
    }
    await runPool({
      total: warmup,
      concurrency,
      task: (i) => postWebhook(ctx.baseUrl, webhookBody(`${runId}-w`, String(i))),
    });
    // their processing is not measured either
    await untilProcessed(ctx, `${runId}-w`, drainTimeoutMs);

    const rss = new AppRssSampler(ctx.app).start();
    const report = progressReporter('webhooks', plan.length);
    let errors = 0;
    const samples: string[] = [];
    let intakeMs = 0;
    // CPU and SQL per webhook: from the first webhook until every one is processed (intake + cheapest processing)
    const measured = await ctx.measure('webhooks', async () => {
      const result = await runPool<Sent>({
        total: plan.length,
        concurrency,
        task: (i) => postWebhook(ctx.baseUrl, plan[i] ?? ''),
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
      intakeMs = result.elapsedMs;
      const drainStarted = performance.now();
      await untilProcessed(ctx, runId, drainTimeoutMs);
      return { result, drainMs: performance.now() - drainStarted };
    });
    const { result, drainMs } = measured.value;
    // counted after the measured phase: it reads every event of the source
    const state = await inboxState(ctx, runId);
    const sent = result.outcomes.flatMap((o) => (o.ok ? [o.value] : []));
    const acknowledgedDuplicates = sent.filter((s) => s.duplicate).length;
    const stored = Object.values(state).reduce((a, b) => a + b, 0);
    const latency = roundSummary(summarize(sent.map((s) => s.ms)));
    const intakeRate = ratePerSecond(sent.length, intakeMs);

    // open loop at 80 % of the target intake rate (0.5 × the insert rate), for the p99 the target names
    const targetRate = ctx.dbLimit ? 0.5 * ctx.dbLimit.insertsPerSecond : undefined;
    const fixedRate = ctx.args.number('open-loop-rate');
    const openRate = fixedRate > 0 ? fixedRate : 0.8 * (targetRate ?? intakeRate);
    const openPhase = async (rate: number, tag: string, label: string): Promise<OpenLoopPhase> => {
      ctx.log(`${label}: ${rate.toFixed(0)} webhooks/s for ${openSeconds} s`);
      await ctx.app.latencyStart();
      const result = await openLoop(
        ctx,
        `${runId}-${tag}`,
        rate,
        openSeconds,
        ctx.args.int('open-loop-max-in-flight'),
      );
      const inApp = (await ctx.app.latencyStop()).serverLatency;
      ctx.log(
        `${label}: ${result.sent}/${result.planned} sent, p99 ${result.latency.p99} ms, ${result.errors} errors, ` +
          `peak in flight ${result.maxInFlight}`,
      );
      // a rate above what the app takes leaves a backlog: processed here, or the next scenario of `--scenario all`
      // would process it with its own app while measuring
      const drainStarted = performance.now();
      const left = await untilProcessed(ctx, `${runId}-${tag}`, drainTimeoutMs);
      const drainMs = left === 0 ? performance.now() - drainStarted : undefined;
      ctx.log(
        `${label}: ${drainMs === undefined ? `${left} events still pending after the drain timeout` : `backlog processed in ${(drainMs / 1000).toFixed(1)} s`}`,
      );
      return { result, inApp, drainMs };
    };
    const ceiling = machineCeiling(measured, sent.length);
    let open: OpenLoopPhase | undefined;
    let sustainable: OpenLoopPhase | undefined;
    if (openSeconds > 0 && !ctx.signal.aborted) {
      open = await openPhase(openRate, 'open', 'open loop');
      const informational = informationalOpenLoopRate({
        openRate,
        fixed: fixedRate > 0,
        ceiling,
        intakeRate,
      });
      if (informational !== undefined && ceiling !== undefined && !ctx.signal.aborted) {
        ctx.log(
          `open loop: ${openRate.toFixed(0)}/s is above this machine's ceiling (${ceiling.toFixed(0)}/s)`,
        );
        sustainable = await openPhase(informational, 'sustainable', 'informational open loop');
      }
    }
    const appPeakRssMb = rss.stop();

    const cpuPerWebhookMs = measured.app.cpuMs / Math.max(1, sent.length);
    const sqlPerWebhook = measured.app.queries / Math.max(1, sent.length);
    const ok =
      errors === 0 &&
      stored === n &&
      (state.pending ?? 0) === 0 &&
      acknowledgedDuplicates >= duplicates &&
      [open, sustainable].every(
        (phase) => phase === undefined || (phase.result.errors === 0 && phase.drainMs !== undefined),
      );
    const targets = [
      evaluateTarget({
        name: 'webhook intake ≥ 0.5 × insert rate',
        unit: '/s',
        direction: 'min',
        measured: intakeRate,
        relativeTo: { label: 'single-row inserts/s', rate: ctx.dbLimit?.insertsPerSecond, share: 0.5 },
      }),
      evaluateTarget({
        name: `intake p99 ≤ 25 ms at ${openRate.toFixed(0)}/s (80 % of target)`,
        unit: 'ms',
        direction: 'max',
        measured: open && targetRate !== undefined ? open.result.latency.p99 : undefined,
        limit: 25,
      }),
      evaluateTarget({
        name: 'app CPU per webhook ≤ 0.3 ms',
        unit: 'ms',
        direction: 'max',
        measured: cpuPerWebhookMs,
        limit: 0.3,
      }),
    ];

    return {
      ok,
      headline: `webhooks: ${plan.length} signed Cleeng webhooks (${duplicates} redeliveries), concurrency ${concurrency}`,
      summary: [
        [
          'webhooks sent / acknowledged 200',
          `${plan.length} / ${sent.filter((s) => s.status === 200).length}`,
        ],
        ['errors', errors],
        ['intake throughput (webhooks/s)', round(intakeRate, 1)],
        ['stored events (unique) / expected', `${stored} / ${n}`],
        ['redeliveries answered as duplicates', `${acknowledgedDuplicates} / ${duplicates}`],
        [
          'processed, all left pending (s after intake)',
          (state.pending ?? 0) === 0 ? round(drainMs / 1000, 2) : 'timed out',
        ],
        ['app CPU per webhook (ms, intake + processing)', round(cpuPerWebhookMs, 3)],
        ['PostgreSQL CPU per webhook (ms, intake + processing)', databaseCpuPer(measured, sent.length)],
        ['SQL statements per webhook (intake + processing)', round(sqlPerWebhook, 2)],
        ...machineCpuRows(measured, sent.length, 'webhook', { note: 'intake + processing' }),
        ...openLoopRows('open loop', open),
        [
          "open loop against this machine's ceiling (intake + processing)",
          ceiling === undefined ? '-' : `${round(openRate / ceiling, 2)} × ${round(ceiling, 0)} /s`,
        ],
        ...(sustainable ? openLoopRows('informational open loop', sustainable, true) : []),
        ['app peak RSS (MB)', appPeakRssMb],
      ],
      tables: [
        {
          title: 'intake latency (ms), closed loop: POST /webhooks/cleeng -> 200',
          headers: ['count', 'mean', 'p50', 'p90', 'p99', 'max'],
          rows: [[latency.count, latency.mean, latency.p50, latency.p90, latency.p99, latency.max]],
        },
      ],
      targets,
      ...(measured.profile ? { profile: measured.profile } : {}),
      data: {
        params: { n, concurrency, duplicatePercent, openSeconds, openRate },
        inbox: state,
        intakePerSecond: round(intakeRate, 1),
        latency,
        openLoop: open ? openLoopData(open) : null,
        openLoopSustainable: sustainable ? openLoopData(sustainable) : null,
        drainMs,
        app: { ...measured.app, peakRssMb: appPeakRssMb, cpuPerWebhookMs, sqlPerWebhook },
      },
      errors: samples,
    };
  },
};
