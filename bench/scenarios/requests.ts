import { randomInt } from 'node:crypto';
import { floorMs, type IoCounts, type IoFloor, measureIoFloor, purchaseIo } from '../lib/io-floor';
import { waitForOutbox } from '../lib/outbox';
import { runPool } from '../lib/pool';
import { clearFaults } from '../lib/sandbox';
import { ratePerSecond, round } from '../lib/stats';
import type { Cell } from '../lib/table';
import { orderBody, purchase } from './purchase';
import type { BenchContext, Measured, Scenario, ScenarioResult } from './scenario';
import { untilProcessed } from './webhook-intake';

/**
 * One kind of request the app serves, sent on its own so the app's CPU per request can be read from the process
 * (no profiler, no wall-clock attribution): what a purchase's CPU is made of, request by request.
 */
export interface RequestKind {
  /** what `--kinds` names it by */
  id: string;
  name: string;
  /** `index` is unique per request of the whole scenario */
  send(ctx: BenchContext, index: number, orderId: string): Promise<string | undefined>;
  /** a purchase's reports and the gateway's notifications are part of its cost: wait for them in the phase */
  settles?: boolean;
  /** Adyen's notifications lost at the emulator for this kind (what they cost is the difference) */
  notificationsLost?: boolean;
  /** requests of this kind per `--n` (a purchase is ~10 requests' worth of work) */
  share: number;
  /** the I/O one request of this kind does, given its measured statements (for the I/O floor column) */
  io(statements: number): IoCounts;
}

/** A request the app answers, with `sent` calls of its own to a vendor. */
const answered =
  (sent: number) =>
  (statements: number): IoCounts => ({ answered: 1, sent, statements });

export const REQUEST_KINDS: readonly RequestKind[] = [
  {
    id: 'health',
    name: 'GET /health',
    share: 1,
    io: answered(0),
    send: async (ctx) => {
      await ctx.http.expect('health', 200, 'GET', '/health');
      return undefined;
    },
  },
  {
    id: 'get-order',
    name: 'GET /v1/orders/:id',
    share: 1,
    io: answered(0),
    send: async (ctx, _index, orderId) => {
      await ctx.http.expect('get order', 200, 'GET', `/v1/orders/${orderId}`);
      return undefined;
    },
  },
  {
    id: 'refused-order',
    name: 'POST /v1/orders, refused (400)',
    share: 1,
    io: answered(0),
    send: async (ctx, index) => {
      await ctx.http.expect('refused order', 400, 'POST', '/v1/orders', {
        body: { ...orderBody(String(index)), gateway: 'no-such-gateway' },
      });
      return undefined;
    },
  },
  {
    id: 'create-order',
    name: 'POST /v1/orders',
    share: 0.5,
    io: answered(1), // Cleeng's order
    send: async (ctx, index) => {
      await ctx.http.expect('create order', 201, 'POST', '/v1/orders', { body: orderBody(String(index)) });
      return undefined;
    },
  },
  {
    id: 'purchase-lost',
    name: 'purchase, notifications lost',
    share: 0.2,
    settles: true,
    notificationsLost: true,
    io: (statements) => purchaseIo(statements, false),
    send: async (ctx, index) => (await purchase(ctx, String(index))).paymentId,
  },
  {
    id: 'purchase',
    name: 'purchase',
    share: 0.2,
    settles: true,
    io: (statements) => purchaseIo(statements, true),
    send: async (ctx, index) => (await purchase(ctx, String(index))).paymentId,
  },
];

/** The kinds `--kinds` names (comma-separated ids; empty: all), in the scenario's order. */
export function selectKinds(spec: string): RequestKind[] {
  const ids = spec
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id.length > 0);
  const unknown = ids.filter((id) => !REQUEST_KINDS.some((k) => k.id === id));
  if (unknown.length > 0) {
    throw new Error(
      `--kinds: no request kind ${unknown.join(', ')} (kinds: ${REQUEST_KINDS.map((k) => k.id).join(', ')})`,
    );
  }
  return ids.length === 0 ? [...REQUEST_KINDS] : REQUEST_KINDS.filter((k) => ids.includes(k.id));
}

/** Whether every inbox event (a purchase's notifications) was processed within the timeout. */
async function inboxSettled(ctx: BenchContext, timeoutMs: number): Promise<boolean> {
  return (await untilProcessed(ctx, undefined, timeoutMs)) === 0;
}

export interface KindResult {
  kind: RequestKind;
  requests: number;
  errors: number;
  settled: boolean;
  measured: Measured<{ elapsedMs: number }>;
}

export function requestRow(
  { kind, requests, errors, settled, measured }: KindResult,
  floor?: IoFloor,
): Cell[] {
  // two decimals: a cheap request is a fraction of a millisecond (the tables print numbers with one)
  const per = (ms: number | undefined): Cell => (ms === undefined ? '-' : (ms / requests).toFixed(2));
  const statements = measured.app.queries / requests;
  return [
    kind.name,
    `${requests - errors} / ${requests}`,
    round(ratePerSecond(requests, measured.value.elapsedMs), 0),
    per(measured.app.cpuMs),
    statements.toFixed(1),
    floor ? floorMs(floor, kind.io(statements)).toFixed(2) : '-',
    per(measured.databaseCpuMs),
    per(measured.emulatorCpuMs),
    kind.settles ? (settled ? 'yes' : 'timed out') : '-',
  ];
}

export const requestsScenario: Scenario = {
  name: 'requests',
  description:
    "The app's CPU per request, one kind of request at a time (health, an order read, a refused and a created " +
    'order, a purchase with and without its gateway notifications): what a purchase is made of',
  flags: [
    {
      name: 'n',
      kind: 'int',
      default: 4000,
      min: 10,
      help: 'requests of the cheap kinds (orders: half, purchases: a fifth)',
    },
    { name: 'concurrency', kind: 'int', default: 50, min: 1, help: 'requests in flight at once' },
    { name: 'warmup', kind: 'int', default: 500, min: 0, help: 'unmeasured requests of each kind first' },
    {
      name: 'kinds',
      kind: 'string',
      default: '',
      help: `request kinds to measure, comma-separated (default all: ${REQUEST_KINDS.map((k) => k.id).join(', ')})`,
    },
    {
      name: 'floor-n',
      kind: 'int',
      default: 10_000,
      min: 0,
      help: 'operations of each kind of I/O measured with no framework (the "I/O floor" column; 0: skip)',
    },
    {
      name: 'settle-timeout-ms',
      kind: 'int',
      default: 60_000,
      min: 0,
      help: "how long to wait for a purchase kind's reports and notifications (inside its measured phase)",
    },
  ],
  quick: { n: 400, warmup: 50, 'floor-n': 1000 },
  concurrency: (args) => args.int('concurrency'),

  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const n = ctx.args.int('n');
    const concurrency = ctx.args.int('concurrency');
    const warmup = ctx.args.int('warmup');
    const settleTimeoutMs = ctx.args.int('settle-timeout-ms');
    const kinds = selectKinds(ctx.args.string('kinds'));
    const floorN = ctx.args.int('floor-n');
    // customer ids unique to this run (the database persists, the emulated Cleeng keeps its customers in memory)
    let nextCustomer = 800_000_000 + randomInt(0, 90_000_000);
    const seed = await purchase(ctx, String((nextCustomer += 1)));
    const [seedOrder] = await ctx.db.query<{ order_id: string }>(
      `SELECT order_id FROM payments WHERE id = $1`,
      [seed.paymentId],
    );
    const orderId = seedOrder?.order_id ?? '';
    const results: KindResult[] = [];
    const errors: string[] = [];

    for (const kind of kinds) {
      const requests = Math.max(1, Math.round(n * kind.share));
      const batch = async (count: number): Promise<{ ids: string[]; failed: number; elapsedMs: number }> => {
        const ids: string[] = [];
        const result = await runPool({
          total: count,
          concurrency,
          task: async () => {
            const id = await kind.send(ctx, (nextCustomer += 1), orderId);
            if (id) {
              ids.push(id);
            }
          },
          signal: ctx.signal,
          onSettled: (_done, outcome) => {
            if (!outcome.ok && errors.length < 5) {
              errors.push(`${kind.name}: ${String(outcome.error)}`);
            }
          },
        });
        return { ids, failed: result.failures, elapsedMs: result.elapsedMs };
      };
      if (kind.notificationsLost) {
        await ctx.sandbox.expect('lose notifications', 200, 'POST', '/sandbox/faults/adyen', {
          body: { lostWebhookRate: 1 },
        });
      }
      try {
        const warm = await batch(Math.min(warmup, requests));
        if (kind.settles) {
          await waitForOutbox(ctx.db, warm.ids, settleTimeoutMs);
          await inboxSettled(ctx, settleTimeoutMs);
        }
        ctx.log(`requests: ${kind.name} × ${requests}`);
        let settled = true;
        let failed = 0;
        const measured = await ctx.measure(kind.name, async () => {
          const done = await batch(requests);
          failed = done.failed;
          if (kind.settles) {
            settled =
              (await waitForOutbox(ctx.db, done.ids, settleTimeoutMs)).drained &&
              (await inboxSettled(ctx, settleTimeoutMs));
          }
          return { elapsedMs: done.elapsedMs };
        });
        results.push({ kind, requests, errors: failed, settled, measured });
      } finally {
        if (kind.notificationsLost) {
          await clearFaults(ctx.sandbox, 'adyen');
        }
      }
    }

    // after the app's kinds, with the app idle: the same machine, minutes apart (its hour matters, see the docs)
    let floor: IoFloor | undefined;
    if (floorN > 0 && !ctx.signal.aborted) {
      ctx.log(`requests: the I/O floor, ${floorN} of each kind of I/O with no framework`);
      floor = await measureIoFloor({ databaseUrl: ctx.databaseUrl, count: floorN, concurrency });
    }

    const ok = results.every((r) => r.errors === 0 && r.settled) && !ctx.signal.aborted;
    return {
      ok,
      headline:
        `requests: the app's CPU per request, one kind at a time, ${concurrency} in flight ` +
        `(a purchase's reports and notifications waited for inside its phase)`,
      summary: [
        ['kinds measured', results.length],
        ...(floor
          ? ([
              ['I/O floor: JSON request answered by bare node:http (ms)', floor.answeredMs.toFixed(3)],
              ['I/O floor: JSON request sent through undici, keep-alive (ms)', floor.sentMs.toFixed(3)],
              ['I/O floor: prepared INSERT … RETURNING * through pg (ms)', floor.statementMs.toFixed(3)],
            ] as [string, Cell][])
          : []),
      ],
      tables: [
        {
          title:
            'per request (app CPU and statements from the app process; "I/O floor": what the requests it answers and ' +
            'sends and its statements would cost a process with no framework on this machine; PostgreSQL and the ' +
            'emulators beside it)',
          headers: [
            'request',
            'ok / sent',
            'per s',
            'app CPU ms',
            'SQL',
            'I/O floor ms',
            'PostgreSQL CPU ms',
            'emulators CPU ms',
            'settled',
          ],
          rows: results.map((r) => requestRow(r, floor)),
        },
      ],
      targets: [],
      data: {
        params: { n, concurrency, warmup, settleTimeoutMs, floorN },
        ioFloor: floor ?? null,
        kinds: results.map((r) => ({
          name: r.kind.name,
          requests: r.requests,
          errors: r.errors,
          settled: r.settled,
          elapsedMs: r.measured.value.elapsedMs,
          appCpuMs: r.measured.app.cpuMs,
          queries: r.measured.app.queries,
          databaseCpuMs: r.measured.databaseCpuMs ?? null,
          emulatorCpuMs: r.measured.emulatorCpuMs ?? null,
        })),
      },
      errors,
    };
  },
};
