import { randomInt, randomUUID } from 'node:crypto';
import { AppRssSampler } from '../lib/processes';
import { evaluateTarget } from '../lib/targets';
import { outboxCounts, outboxDeliveryLag, waitForOutbox } from '../lib/outbox';
import { runPool } from '../lib/pool';
import { progressReporter } from '../lib/progress';
import { RequestFailed, describeError, snippet } from '../lib/http';
import { TEST_CARDS, clearFaults, schemeCard, setEmulatorLatency } from '../lib/sandbox';
import { ratePerSecond, round, roundSummary, summarize, Summary } from '../lib/stats';
import type { Cell } from '../lib/table';
import { databaseCpuPer, machineCeiling, machineCpuRows } from './scenario';
import type { BenchContext, Scenario, ScenarioResult } from './scenario';

/** Sandbox offer: 9.99 USD monthly (the sandbox Cleeng catalogue). */
const OFFER_ID = 'S100000001_US';
const MAX_ERROR_SAMPLES = 20;
const PRINTED_ERRORS = 5;

interface Purchase {
  orderMs: number;
  paymentMs: number;
  totalMs: number;
  paymentId: string;
  status: string;
}

/** A purchase that got as far as a payment id but did not end `captured`. */
class NotCaptured extends Error {
  constructor(
    readonly paymentId: string,
    readonly status: string,
    body: unknown,
  ) {
    super(`pay: payment ${paymentId} ended ${status}: ${snippet(body)}`);
  }
}

function stringField(body: unknown, field: string): string | undefined {
  if (typeof body === 'object' && body !== null && field in body) {
    const value: unknown = (body as Record<string, unknown>)[field];
    return typeof value === 'string' ? value : undefined;
  }
  return undefined;
}

/** `POST /v1/orders`' body: the sandbox offer, paid through the Adyen-style gateway. */
export function orderBody(customerId: string): Record<string, string> {
  return { customerId, offerId: OFFER_ID, currency: 'USD', country: 'US', gateway: 'adyen' };
}

/** One initial purchase over HTTP: create the order, pay it with the approve card. */
export async function purchase(ctx: BenchContext, customerId: string): Promise<Purchase> {
  const started = performance.now();
  const order = await ctx.http.expect('create order', 201, 'POST', '/v1/orders', {
    body: orderBody(customerId),
  });
  const orderId = stringField(order.body, 'id');
  if (!orderId) {
    throw new RequestFailed('create order', order.status, `no order id in ${snippet(order.body)}`);
  }
  const payment = await ctx.http.expect('pay', 201, 'POST', '/v1/payments', {
    headers: { 'Idempotency-Key': randomUUID() },
    body: { orderId, paymentMethod: schemeCard(TEST_CARDS.approve) },
  });
  const totalMs = performance.now() - started;
  const paymentId = stringField(payment.body, 'id');
  const status = stringField(payment.body, 'status') ?? '<none>';
  if (!paymentId) {
    throw new RequestFailed('pay', payment.status, `no payment id in ${snippet(payment.body)}`);
  }
  if (status !== 'captured') {
    throw new NotCaptured(paymentId, status, payment.body);
  }
  return { orderMs: order.ms, paymentMs: payment.ms, totalMs, paymentId, status };
}

export interface Batch {
  ok: Purchase[];
  /** payment ids of purchases that got that far, captured or not */
  paymentIds: string[];
  errors: string[];
  errorCount: number;
  errorsByStep: Record<string, number>;
  elapsedMs: number;
}

export async function runBatch(
  ctx: BenchContext,
  label: string,
  n: number,
  concurrency: number,
): Promise<Batch> {
  // customer ids unique to this run (the sandbox Cleeng keeps customers in memory, the database persists)
  const base = 700_000_000 + randomInt(0, 99_000_000);
  const report = progressReporter(label, n);
  const errors: string[] = [];
  const errorsByStep: Record<string, number> = {};
  const paymentIds: string[] = [];
  let errorCount = 0;
  const result = await runPool<Purchase>({
    total: n,
    concurrency,
    task: (i) => purchase(ctx, String(base + i)),
    signal: ctx.signal,
    onSettled: (done, outcome) => {
      if (ctx.signal.aborted) {
        return; // interrupted: the app is closing under the requests still in flight
      }
      if (outcome.ok) {
        paymentIds.push(outcome.value.paymentId);
      } else {
        errorCount += 1;
        const err = outcome.error;
        if (err instanceof NotCaptured) {
          paymentIds.push(err.paymentId);
        }
        const step =
          err instanceof NotCaptured
            ? 'pay (not captured)'
            : err instanceof RequestFailed
              ? err.step
              : 'other';
        errorsByStep[step] = (errorsByStep[step] ?? 0) + 1;
        const text = describeError(err);
        if (errors.length < MAX_ERROR_SAMPLES) {
          errors.push(text);
        }
        if (errorCount <= PRINTED_ERRORS) {
          ctx.log(`${label}: error #${errorCount}: ${text}`);
        }
      }
      report(done, errorCount);
    },
  });
  const ok = result.outcomes.flatMap((o) => (o.ok ? [o.value] : []));
  return { ok, paymentIds, errors, errorCount, errorsByStep, elapsedMs: result.elapsedMs };
}

async function paymentStatuses(ctx: BenchContext, ids: readonly string[]): Promise<Record<string, number>> {
  const rows: { status: string; n: number }[] = await ctx.db.query(
    `SELECT status, count(*)::int AS n FROM payments WHERE id = ANY($1::uuid[]) GROUP BY status ORDER BY status`,
    [ids],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

function latencyRow(name: string, s: Summary): Cell[] {
  const r = roundSummary(s);
  return [name, r.count, r.mean, r.p50, r.p90, r.p99, r.max];
}

export const purchaseScenario: Scenario = {
  relativeToDbLimit: true,
  name: 'purchase',
  description:
    'Initial purchase through the sandbox: POST /v1/orders then POST /v1/payments (Adyen-style gateway, approve card), ' +
    'then time until every report to Cleeng left the outbox',
  flags: [
    { name: 'n', kind: 'int', default: 1000, min: 1, help: 'purchases to measure' },
    { name: 'concurrency', kind: 'int', default: 50, min: 1, help: 'purchases in flight at once' },
    // the code paths of a purchase run once or twice per purchase: V8 optimises them only after hundreds (100 left
    // the app ~25 % more CPU per purchase than 1,000 did, the emulators and the bench's own client too; twelfth pass)
    { name: 'warmup', kind: 'int', default: 1000, min: 0, help: 'unmeasured purchases first (JIT warm-up)' },
    {
      name: 'gateway-latency-ms',
      kind: 'int',
      default: 0,
      min: 0,
      help: 'latency added by the Adyen emulator',
    },
    {
      name: 'cleeng-latency-ms',
      kind: 'int',
      default: 0,
      min: 0,
      help: 'latency added by the Cleeng emulator',
    },
    {
      name: 'drain-timeout-ms',
      kind: 'int',
      default: 60_000,
      min: 0,
      help: 'how long to wait for the outbox to deliver every report to Cleeng',
    },
  ],
  quick: { n: 150, warmup: 30 },
  concurrency: (args) => args.int('concurrency'),

  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const n = ctx.args.int('n');
    const concurrency = ctx.args.int('concurrency');
    const warmup = ctx.args.int('warmup');
    const gatewayLatencyMs = ctx.args.int('gateway-latency-ms');
    const cleengLatencyMs = ctx.args.int('cleeng-latency-ms');
    const drainTimeoutMs = ctx.args.int('drain-timeout-ms');

    await setEmulatorLatency(ctx.sandbox, 'adyen', gatewayLatencyMs);
    await setEmulatorLatency(ctx.sandbox, 'cleeng', cleengLatencyMs);
    try {
      if (warmup > 0) {
        ctx.log(`warm-up: ${warmup} purchases`);
        const w = await runBatch(ctx, 'warm-up', warmup, concurrency);
        const drain = await waitForOutbox(ctx.db, w.paymentIds, drainTimeoutMs);
        ctx.log(
          `warm-up done: ${w.ok.length}/${warmup} ok in ${(w.elapsedMs / 1000).toFixed(1)} s, ` +
            `outbox ${drain.drained ? 'drained' : 'NOT drained'} (${drain.counts.delivered} delivered)`,
        );
      }

      ctx.log(
        `measuring: ${n} purchases, concurrency ${concurrency}, gateway latency ${gatewayLatencyMs} ms`,
      );
      const rss = new AppRssSampler(ctx.app).start();
      // the 'after' probe waits for the outbox: the Cleeng report is part of a purchase's cost
      const measured = await ctx.measure('purchase', async () => {
        const b = await runBatch(ctx, 'purchase', n, concurrency);
        ctx.log(`purchases done in ${(b.elapsedMs / 1000).toFixed(1)} s; waiting for the outbox`);
        return { batch: b, drain: await waitForOutbox(ctx.db, b.paymentIds, drainTimeoutMs) };
      });
      const { batch, drain } = measured.value;
      const appPeakRssMb = rss.stop();

      const statuses = await paymentStatuses(ctx, batch.paymentIds);
      const captured = statuses.captured ?? 0;
      const allCaptured = captured === n;
      const outbox = await outboxCounts(ctx.db, batch.paymentIds);
      const reportLag = await outboxDeliveryLag(ctx.db, batch.paymentIds);
      const total = summarize(batch.ok.map((p) => p.totalMs));
      const order = summarize(batch.ok.map((p) => p.orderMs));
      const payment = summarize(batch.ok.map((p) => p.paymentMs));
      const throughput = ratePerSecond(batch.ok.length, batch.elapsedMs);
      const endToEndMs = batch.elapsedMs + drain.waitedMs;
      const ok = batch.errorCount === 0 && allCaptured && drain.drained && outbox.dead === 0;
      const purchases = Math.max(1, batch.ok.length);
      const cpuPerPurchaseMs = measured.app.cpuMs / purchases;
      const sqlPerPurchase = measured.app.queries / purchases;
      const targets = [
        evaluateTarget({
          name: 'purchase throughput ≥ 0.1 × TPC-B-like tps',
          unit: '/s',
          direction: 'min',
          measured: throughput,
          relativeTo: { label: 'TPC-B-like tx/s', rate: ctx.dbLimit?.tpcbPerSecond, share: 0.1 },
          ceiling: machineCeiling(measured, purchases),
        }),
        evaluateTarget({
          name: 'app CPU per purchase ≤ 3 ms',
          unit: 'ms',
          direction: 'max',
          measured: cpuPerPurchaseMs,
          limit: 3,
        }),
        evaluateTarget({
          name: 'SQL statements per purchase ≤ 15',
          unit: '',
          direction: 'max',
          measured: sqlPerPurchase,
          limit: 15,
        }),
      ];

      return {
        ok,
        headline:
          `purchase: ${n} initial purchases (order + payment, approve card), concurrency ${concurrency}, ` +
          `gateway latency ${gatewayLatencyMs} ms, Cleeng latency ${cleengLatencyMs} ms`,
        summary: [
          ['purchases ok / attempted', `${batch.ok.length} / ${n}`],
          ['errors', batch.errorCount],
          ['throughput (purchases/s)', round(throughput, 1)],
          ['purchase phase (s)', round(batch.elapsedMs / 1000, 2)],
          ['all payments captured (database)', allCaptured],
          ['Cleeng reports delivered / dead', `${outbox.delivered} / ${outbox.dead}`],
          ['outbox drained after last purchase (ms)', drain.drained ? round(drain.waitedMs, 0) : 'timed out'],
          [
            'all reported, from first purchase (s)',
            drain.drained ? round(endToEndMs / 1000, 2) : 'timed out',
          ],
          ['app CPU per purchase (ms, incl. report delivery)', round(cpuPerPurchaseMs, 2)],
          ['SQL statements per purchase (incl. report delivery)', round(sqlPerPurchase, 1)],
          ['PostgreSQL CPU per purchase (ms)', databaseCpuPer(measured, purchases)],
          ['app CPU busy (share of one core)', round(measured.app.cpuMs / measured.app.wallMs, 2)],
          [
            'emulators CPU busy (share of one core)',
            measured.emulatorCpuMs === undefined
              ? '-'
              : round(measured.emulatorCpuMs / measured.app.wallMs, 2),
          ],
          ['app peak RSS (MB)', appPeakRssMb],
          ...machineCpuRows(measured, purchases, 'purchase'),
        ],
        targets,
        ...(measured.profile ? { profile: measured.profile } : {}),
        tables: [
          {
            title: 'latency (ms), successful purchases',
            headers: ['step', 'count', 'mean', 'p50', 'p90', 'p99', 'max'],
            rows: [
              latencyRow('purchase (order + payment)', total),
              latencyRow('POST /v1/orders', order),
              latencyRow('POST /v1/payments', payment),
              latencyRow('Cleeng report (enqueue -> delivered)', reportLag),
            ],
          },
        ],
        data: {
          params: {
            n,
            concurrency,
            warmup,
            gatewayLatencyMs,
            cleengLatencyMs,
            drainTimeoutMs,
            offerId: OFFER_ID,
          },
          purchases: {
            attempted: n,
            ok: batch.ok.length,
            errors: batch.errorCount,
            errorsByStep: batch.errorsByStep,
          },
          throughputPerSecond: round(throughput, 2),
          purchasePhaseMs: round(batch.elapsedMs, 1),
          latencyMs: {
            purchase: roundSummary(total),
            order: roundSummary(order),
            payment: roundSummary(payment),
            cleengReport: roundSummary(reportLag),
          },
          paymentStatuses: statuses,
          allCaptured,
          outbox: {
            drained: drain.drained,
            drainAfterLastPurchaseMs: round(drain.waitedMs, 1),
            allReportedFromFirstPurchaseMs: drain.drained ? round(endToEndMs, 1) : null,
            counts: outbox,
          },
          app: { ...measured.app, peakRssMb: appPeakRssMb, cpuPerPurchaseMs, sqlPerPurchase },
        },
        errors: batch.errors,
      };
    } finally {
      await clearFaults(ctx.sandbox, 'adyen').catch(() => undefined);
      await clearFaults(ctx.sandbox, 'cleeng').catch(() => undefined);
    }
  },
};
