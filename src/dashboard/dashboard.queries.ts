import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BACKLOG_COUNT_CAP } from '../health/metrics.service';
import { isUuid } from '../common/ids/uuid';
import { GATEWAY_IDS } from '../gateways/gateway-ids';
import { PENDING_LANES_CTE, pendingPerLane } from '../inbox/inbox-lanes';

export type OverviewWindow = '24h' | '7d';
export const OVERVIEW_WINDOWS: Record<OverviewWindow, string> = { '24h': '24 hours', '7d': '7 days' };

/** Statuses that mean the gateway said yes (approval rate = these / (these + rejected)). */
export const APPROVED_STATUSES = ['authorised', 'captured', 'partially_refunded', 'refunded'];
/** The reconciler's queues: payments whose outcome is still open. */
export const OPEN_PAYMENT_STATUSES = ['unknown', 'pending', 'action_required'];
export const PAGE_SIZE = 50;

export interface Overview {
  byStatus: { gateway: string; status: string; n: number }[];
  declines: { gateway: string; code: string; rawCode: string | null; n: number }[];
  amounts: { currency: string; capturedMinor: number; refundedMinor: number }[];
}

export interface PaymentRow {
  id: string;
  createdAt: Date;
  cursor: string;
  gateway: string;
  status: string;
  amountMinor: number;
  currency: string;
  customerId: string;
  externalPaymentId: string | null;
  cleengPaymentId: string | null;
  declineCode: string | null;
}

export interface PaymentPage {
  rows: PaymentRow[];
  next?: string;
}

export interface PaymentDetail extends PaymentRow {
  orderId: string;
  cleengOrderId: string | null;
  offerId: string | null;
  operation: string;
  capturedMinor: number;
  refundedMinor: number;
  decline: Record<string, unknown> | null;
}

export type TimelineKind = 'state' | 'gateway' | 'webhook' | 'cleeng' | 'refund';

export interface TimelineEntry {
  at: Date;
  kind: TimelineKind;
  title: string;
  detail: Record<string, string | number | boolean | null>;
  /** a dead Cleeng report can be replayed from the timeline */
  outboxId?: string;
  status?: string;
}

export interface InboxCounts {
  pending: number;
  failed: number;
  /** the backlog by the gateway its events call ('' for none) */
  lanes: { lane: string; pending: number }[];
}

export interface InboxItem {
  id: string;
  source: string;
  eventType: string;
  status: string;
  attempts: number;
  lastError: string | null;
  receivedAt: Date;
}

export interface OutboxItem {
  id: string;
  kind: string;
  aggregateId: string;
  status: string;
  attempts: number;
  lastError: string | null;
  failureReason: string | null;
  createdAt: Date;
}

export interface SubscriptionRow {
  id: string;
  customerId: string;
  gateway: string;
  status: string;
  amountMinor: number;
  currency: string;
  nextAttemptAt: Date | null;
  dunningStep: number;
  declineClass: string | null;
  declineCode: string | null;
  gatewayRetryPending: boolean;
}

const PAYMENT_COLUMNS = `p.id, p.created_at, p.created_at::text AS cursor_at, p.gateway, p.status,
  p.amount_minor::float8 AS amount_minor, p.currency, p.customer_id, p.external_payment_id,
  p.cleeng_payment_id, p.decline->>'code' AS decline_code`;

/**
 * Every read the dashboard makes. Each one is bounded: a time window on an index, an indexed lookup, or a page
 * of PAGE_SIZE rows by keyset (created_at, id), so a page view never scans the payments table (docs/dashboard.md
 * has the plans' timings on a million payments).
 */
@Injectable()
export class DashboardQueries {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async overview(window: OverviewWindow): Promise<Overview> {
    const since = OVERVIEW_WINDOWS[window];
    const byStatus: { gateway: string; status: string; n: number }[] = await this.db.query(
      `SELECT gateway, status, count(*)::int AS n FROM payments
        WHERE created_at >= now() - $1::interval GROUP BY gateway, status ORDER BY gateway, status`,
      [since],
    );
    const declines: { gateway: string; code: string; raw_code: string | null; n: number }[] =
      await this.db.query(
        `SELECT gateway, decline->>'code' AS code, decline->>'rawCode' AS raw_code, count(*)::int AS n FROM payments
        WHERE created_at >= now() - $1::interval AND status = 'rejected' AND decline IS NOT NULL
        GROUP BY 1, 2, 3 ORDER BY n DESC LIMIT 100`,
        [since],
      );
    const amounts: { currency: string; captured: number; refunded: number }[] = await this.db.query(
      `SELECT currency, sum(captured_minor)::float8 AS captured, sum(refunded_minor)::float8 AS refunded
         FROM payments WHERE created_at >= now() - $1::interval GROUP BY currency ORDER BY currency`,
      [since],
    );
    return {
      byStatus,
      declines: declines.map((d) => ({ gateway: d.gateway, code: d.code, rawCode: d.raw_code, n: d.n })),
      amounts: amounts.map((a) => ({
        currency: a.currency,
        capturedMinor: a.captured,
        refundedMinor: a.refunded,
      })),
    };
  }

  /**
   * Payments newest first. `q` is our payment or order id, Cleeng's order or payment id, the gateway's payment
   * id or a customer id; every branch of the OR has its own index (the gateway's payment id: the unique
   * `(gateway, external_payment_id)`, every gateway listed).
   */
  async searchPayments(q: string | undefined, cursor: string | undefined): Promise<PaymentPage> {
    const params: unknown[] = [];
    const where: string[] = [];
    if (q) {
      params.push(q, GATEWAY_IDS);
      const branches = [
        'p.cleeng_payment_id = $1',
        '(p.gateway = ANY($2::text[]) AND p.external_payment_id = $1)',
        'p.customer_id = $1',
        'p.order_id = (SELECT o.id FROM orders o WHERE o.cleeng_order_id = $1)',
      ];
      if (isUuid(q)) {
        branches.push('p.id = $1::uuid', 'p.order_id = $1::uuid');
      }
      where.push(`(${branches.join(' OR ')})`);
    }
    const after = decodeCursor(cursor);
    if (after) {
      params.push(after.at, after.id);
      where.push(`(p.created_at, p.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(PAGE_SIZE + 1);
    const rows: RawPayment[] = await this.db.query(
      `SELECT ${PAYMENT_COLUMNS} FROM payments p ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY p.created_at DESC, p.id DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, PAGE_SIZE).map(toPaymentRow);
    const last = page[page.length - 1];
    return { rows: page, ...(rows.length > PAGE_SIZE && last ? { next: last.cursor } : {}) };
  }

  async payment(id: string): Promise<PaymentDetail | undefined> {
    if (!isUuid(id)) {
      return undefined;
    }
    const [row]: (RawPayment & {
      order_id: string;
      cleeng_order_id: string | null;
      offer_id: string | null;
      operation: string;
      captured_minor: number;
      refunded_minor: number;
      decline: Record<string, unknown> | null;
    })[] = await this.db.query(
      `SELECT ${PAYMENT_COLUMNS}, p.order_id, o.cleeng_order_id, o.offer_id, p.operation,
              p.captured_minor::float8 AS captured_minor, p.refunded_minor::float8 AS refunded_minor, p.decline
         FROM payments p LEFT JOIN orders o ON o.id = p.order_id WHERE p.id = $1`,
      [id],
    );
    if (!row) {
      return undefined;
    }
    return {
      ...toPaymentRow(row),
      orderId: row.order_id,
      cleengOrderId: row.cleeng_order_id,
      offerId: row.offer_id,
      operation: row.operation,
      capturedMinor: row.captured_minor,
      refundedMinor: row.refunded_minor,
      decline: row.decline,
    };
  }

  /** Everything that happened to one payment, oldest first: each source is an indexed lookup. */
  async timeline(payment: PaymentDetail): Promise<TimelineEntry[]> {
    const entries: TimelineEntry[] = [];
    const states: { at: Date; from_status: string | null; to_status: string; decline_code: string | null }[] =
      await this.db.query(
        `SELECT changed_at AS at, from_status, to_status, decline_code FROM payment_status_changes
          WHERE payment_id = $1 ORDER BY id LIMIT 500`,
        [payment.id],
      );
    for (const s of states) {
      entries.push({
        at: s.at,
        kind: 'state',
        title: s.from_status ? `${s.from_status} → ${s.to_status}` : `created ${s.to_status}`,
        detail: s.decline_code ? { decline: s.decline_code } : {},
        status: s.to_status,
      });
    }
    const calls: {
      at: Date;
      gateway: string;
      operation: string;
      outcome: string;
      duration_ms: number;
      response_summary: Record<string, string | number | boolean>;
    }[] = await this.db.query(
      `SELECT called_at AS at, gateway, operation, outcome, duration_ms, response_summary FROM (
         SELECT * FROM gateway_calls WHERE subject_id = $1
         UNION
         SELECT * FROM gateway_calls WHERE gateway = $2 AND external_payment_id = $3
       ) c ORDER BY id LIMIT 500`,
      [payment.id, payment.gateway, payment.externalPaymentId],
    );
    for (const c of calls) {
      entries.push({
        at: c.at,
        kind: 'gateway',
        title: `${c.gateway} ${c.operation}: ${c.outcome}`,
        detail: { durationMs: c.duration_ms, ...c.response_summary },
        status: c.outcome,
      });
    }
    const webhooks: {
      at: Date;
      source: string;
      event_type: string;
      status: string;
      attempts: number;
      last_error: string | null;
      type: string | null;
      decline: string | null;
      amount: string | null;
    }[] = await this.db.query(
      `SELECT received_at AS at, source, event_type, status, attempts, last_error, payload->>'type' AS type,
              payload->'decline'->>'code' AS decline,
              (payload->'amount'->>'value') || ' ' || (payload->'amount'->>'currency') AS amount
         FROM (
           SELECT * FROM inbox_events WHERE payload->>'reference' = $1
           UNION
           SELECT * FROM inbox_events WHERE payload->>'paymentReference' = $1
           UNION
           SELECT * FROM inbox_events WHERE source = $2 AND payload->>'externalPaymentId' = $3
         ) e ORDER BY received_at LIMIT 500`,
      [payment.id, payment.gateway, payment.externalPaymentId],
    );
    for (const w of webhooks) {
      entries.push({
        at: w.at,
        kind: 'webhook',
        title: `${w.source} webhook ${w.event_type}${w.type ? ` (${w.type})` : ''}: ${w.status}`,
        detail: {
          attempts: w.attempts,
          ...(w.decline ? { decline: w.decline } : {}),
          ...(w.amount ? { amountMinor: w.amount } : {}),
          ...(w.last_error ? { lastError: w.last_error } : {}),
        },
        status: w.status,
      });
    }
    const refunds: {
      at: Date;
      id: string;
      amount: number;
      currency: string;
      status: string;
      source: string;
    }[] = await this.db.query(
      `SELECT created_at AS at, id, amount_minor::float8 AS amount, currency, status, source
           FROM refunds WHERE payment_id = $1 ORDER BY created_at LIMIT 100`,
      [payment.id],
    );
    for (const r of refunds) {
      entries.push({
        at: r.at,
        kind: 'refund',
        title: `refund ${r.status}`,
        detail: { refundId: r.id, amountMinor: r.amount, currency: r.currency, source: r.source },
        status: r.status,
      });
    }
    const reports: {
      id: string;
      at: Date;
      kind: string;
      status: string;
      attempts: number;
      last_error: string | null;
      method: string | null;
      path: string | null;
      reported_status: string | null;
      delivered_at: Date | null;
    }[] = await this.db.query(
      `SELECT id::text AS id, created_at AS at, kind, status, attempts, last_error, payload->>'method' AS method,
              payload->>'path' AS path, payload->'body'->>'status' AS reported_status, delivered_at
         FROM outbox_messages WHERE aggregate_id = $1 ORDER BY id LIMIT 200`,
      [payment.id],
    );
    for (const r of reports) {
      entries.push({
        at: r.at,
        kind: 'cleeng',
        title: `report to Cleeng: ${r.kind} (${r.status})`,
        detail: {
          request: `${r.method ?? ''} ${r.path ?? ''}`.trim(),
          ...(r.reported_status ? { reportedStatus: r.reported_status } : {}),
          attempts: r.attempts,
          ...(r.delivered_at ? { deliveredAt: r.delivered_at.toISOString() } : {}),
          ...(r.last_error ? { lastError: r.last_error } : {}),
        },
        status: r.status,
        ...(r.status === 'dead' ? { outboxId: r.id } : {}),
      });
    }
    const order: Record<TimelineKind, number> = { state: 2, gateway: 1, webhook: 3, refund: 4, cleeng: 5 };
    return entries.sort((a, b) => a.at.getTime() - b.at.getTime() || order[a.kind] - order[b.kind]);
  }

  /** Capped counts per status (the same cap as /metrics) from partial indexes, and the backlog per lane. */
  async inboxCounts(): Promise<InboxCounts> {
    const [row]: { pending: number; failed: number }[] = await this.db.query(
      `SELECT (SELECT count(*)::int FROM (SELECT 1 FROM inbox_events WHERE status = 'pending' LIMIT $1) p) AS pending,
              (SELECT count(*)::int FROM (SELECT 1 FROM inbox_events WHERE status = 'failed' LIMIT $1) f) AS failed`,
      [BACKLOG_COUNT_CAP],
    );
    return { ...(row ?? { pending: 0, failed: 0 }), lanes: await pendingPerLane(this.db, BACKLOG_COUNT_CAP) };
  }

  async inboxItems(status: 'pending' | 'failed'): Promise<InboxItem[]> {
    const rows: {
      id: string;
      source: string;
      event_type: string;
      status: string;
      attempts: number;
      last_error: string | null;
      received_at: Date;
    }[] = await this.db.query(
      status === 'pending'
        ? // next due first: each lane's first page through the due index (which leads with the lane), merged
          `WITH RECURSIVE ${PENDING_LANES_CTE}
           SELECT e.* FROM partitions p CROSS JOIN LATERAL (
             SELECT id, source, event_type, status, attempts, last_error, received_at, next_attempt_at
             FROM inbox_events WHERE status = 'pending' AND lane = p.value ORDER BY next_attempt_at LIMIT $1) e
           WHERE p.value IS NOT NULL ORDER BY e.next_attempt_at LIMIT $1`
        : `SELECT id, source, event_type, status, attempts, last_error, received_at FROM inbox_events
            WHERE status = 'failed' ORDER BY received_at DESC LIMIT $1`,
      [PAGE_SIZE],
    );
    return rows.map((r) => ({
      id: r.id,
      source: r.source,
      eventType: r.event_type,
      status: r.status,
      attempts: r.attempts,
      lastError: r.last_error,
      receivedAt: r.received_at,
    }));
  }

  async failedInboxIds(limit: number): Promise<string[]> {
    const rows: { id: string }[] = await this.db.query(
      `SELECT id FROM inbox_events WHERE status = 'failed' ORDER BY received_at LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.id);
  }

  async outboxCounts(): Promise<{ pending: number; dead: number; retrying: number }> {
    const [row]: { pending: number; dead: number; retrying: number }[] = await this.db.query(
      `SELECT (SELECT count(*)::int FROM (SELECT 1 FROM outbox_messages WHERE status = 'pending' LIMIT $1) p) AS pending,
              (SELECT count(*)::int FROM (SELECT 1 FROM outbox_messages WHERE status = 'dead' LIMIT $1) d) AS dead,
              (SELECT count(*)::int FROM (SELECT 1 FROM outbox_messages
                  WHERE status = 'pending' AND failure_reason IS NOT NULL LIMIT $1) r) AS retrying`,
      [BACKLOG_COUNT_CAP],
    );
    return row ?? { pending: 0, dead: 0, retrying: 0 };
  }

  async outboxItems(status: 'pending' | 'dead'): Promise<OutboxItem[]> {
    // pending: in delivery order (outbox_pending_idx); dead: newest first (outbox_messages_dead_recent_idx)
    const order = status === 'pending' ? 'id ASC' : 'id DESC';
    const rows: {
      id: string;
      kind: string;
      aggregate_id: string;
      status: string;
      attempts: number;
      last_error: string | null;
      failure_reason: string | null;
      created_at: Date;
    }[] = await this.db.query(
      `SELECT id::text AS id, kind, aggregate_id, status, attempts, last_error, failure_reason, created_at
         FROM outbox_messages WHERE status = '${status}' ORDER BY ${order} LIMIT $1`,
      [PAGE_SIZE],
    );
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      aggregateId: r.aggregate_id,
      status: r.status,
      attempts: r.attempts,
      lastError: r.last_error,
      failureReason: r.failure_reason,
      createdAt: r.created_at,
    }));
  }

  /** Subscriptions due now and in dunning, with whether the gateway's own retry of the period is pending. */
  async subscriptions(kind: 'due' | 'dunning', now: Date): Promise<SubscriptionRow[]> {
    const where =
      kind === 'due'
        ? 's.next_attempt_at IS NOT NULL AND s.next_attempt_at <= $1 ORDER BY s.next_attempt_at'
        : `s.dunning_step > 0 AND s.status <> 'cancelled' AND $1::timestamptz IS NOT NULL
           ORDER BY s.dunning_started_at DESC`;
    const rows: {
      id: string;
      customer_id: string;
      gateway: string;
      status: string;
      amount_minor: number;
      currency: string;
      next_attempt_at: Date | null;
      dunning_step: number;
      decline_class: string | null;
      decline_code: string | null;
      gateway_retry: boolean | null;
    }[] = await this.db.query(
      `SELECT s.id, s.customer_id, s.gateway, s.status, s.amount_minor::float8 AS amount_minor, s.currency,
              s.next_attempt_at, s.dunning_step, s.last_decline->>'class' AS decline_class,
              s.last_decline->>'code' AS decline_code,
              (SELECT a.retry_scheduled FROM rebill_attempts a WHERE a.subscription_id = s.id
                ORDER BY a.period_start DESC LIMIT 1) AS gateway_retry
         FROM connector_subscriptions s WHERE ${where} LIMIT ${PAGE_SIZE}`,
      [now],
    );
    return rows.map((r) => ({
      id: r.id,
      customerId: r.customer_id,
      gateway: r.gateway,
      status: r.status,
      amountMinor: r.amount_minor,
      currency: r.currency,
      nextAttemptAt: r.next_attempt_at,
      dunningStep: r.dunning_step,
      declineClass: r.decline_class,
      declineCode: r.decline_code,
      gatewayRetryPending: r.gateway_retry === true,
    }));
  }

  /** Periods that went through dunning (more than one try), recovered or lost, per month of the last year. */
  async dunningByMonth(): Promise<{ month: string; recovered: number; lost: number }[]> {
    return this.db.query(
      `SELECT to_char(date_trunc('month', created_at), 'YYYY-MM') AS month,
              count(*) FILTER (WHERE status IN ('captured', 'partially_refunded', 'refunded', 'charged_back'))::int
                AS recovered,
              count(*) FILTER (WHERE status = 'failed')::int AS lost
         FROM rebill_attempts WHERE created_at >= now() - interval '12 months' AND try_number > 1
        GROUP BY 1 ORDER BY 1`,
    );
  }

  /** The reconciler's queues: open payments per status and the oldest one's age (capped counts). */
  async reconcilerQueues(): Promise<{ status: string; n: number; oldestSeconds: number | null }[]> {
    const queues: { status: string; n: number; oldestSeconds: number | null }[] = [];
    for (const status of OPEN_PAYMENT_STATUSES) {
      // the status is a literal so the planner can use the partial payments_next_check_idx; a row parked at
      // 'infinity' has no age (and PostgreSQL before 17 refuses now() - 'infinity')
      const [row]: { n: number; oldest: number | null }[] = await this.db.query(
        `SELECT (SELECT count(*)::int FROM (SELECT 1 FROM payments WHERE status = '${status}' LIMIT $1) c) AS n,
                (SELECT extract(epoch FROM now() - min(next_check_at))::float8 FROM payments
                  WHERE status = '${status}' AND isfinite(next_check_at)) AS oldest`,
        [BACKLOG_COUNT_CAP],
      );
      queues.push({ status, n: row?.n ?? 0, oldestSeconds: row?.oldest ?? null });
    }
    return queues;
  }
}

interface RawPayment {
  id: string;
  created_at: Date;
  cursor_at: string;
  gateway: string;
  status: string;
  amount_minor: number;
  currency: string;
  customer_id: string;
  external_payment_id: string | null;
  cleeng_payment_id: string | null;
  decline_code: string | null;
}

function toPaymentRow(r: RawPayment): PaymentRow {
  return {
    id: r.id,
    createdAt: r.created_at,
    cursor: Buffer.from(`${r.cursor_at}|${r.id}`).toString('base64url'),
    gateway: r.gateway,
    status: r.status,
    amountMinor: r.amount_minor,
    currency: r.currency,
    customerId: r.customer_id,
    externalPaymentId: r.external_payment_id,
    cleengPaymentId: r.cleeng_payment_id,
    declineCode: r.decline_code,
  };
}

/** The page cursor: the last row's exact created_at (Postgres text, microseconds kept) and id. */
export function decodeCursor(cursor: string | undefined): { at: string; id: string } | undefined {
  if (!cursor) {
    return undefined;
  }
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!at || !id || !isUuid(id) || Number.isNaN(Date.parse(at.replace(' ', 'T')))) {
    return undefined;
  }
  return { at, id };
}
