import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Gauge, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { enableDefaultProcessMetrics, processRegistry } from '../common/metrics/process-metrics';
import { pendingPerLane } from '../inbox/inbox-lanes';

/**
 * Backlog counts stop at this many rows: a scrape reads at most this much of any index, and a backlog
 * this large already pages someone.
 */
export const BACKLOG_COUNT_CAP = 10_000;

/**
 * Per-app gauges read from the database at scrape time (every instance reports the same truth).
 * Each query walks a partial index that only holds the rows still needing work (outbox_pending_idx,
 * outbox_aggregate_idx, inbox_lane_due_idx, connector_subscriptions_due_idx, payments_unknown_idx) and is
 * capped with LIMIT, so a scrape never counts a whole table however much history piles up.
 */
@Injectable()
export class MetricsService {
  private readonly logger = new Logger(MetricsService.name);
  private readonly registry = new Registry();
  private readonly outboxMessages = this.gauge(
    'connector_outbox_messages',
    'Undelivered reports to Cleeng by status (delivered ones are not counted; capped)',
    ['status'],
  );
  // alert on reason="auth" (publisher token rotated) and on any value that stays up
  private readonly outboxRetrying = this.gauge(
    'connector_outbox_retrying',
    'Reports to Cleeng waiting for another attempt, by why the last one failed (capped)',
    ['reason'],
  );
  private readonly outboxOldestPending = this.gauge(
    'connector_outbox_oldest_pending_seconds',
    'Outbox lag: age of the oldest undelivered report to Cleeng',
  );
  private readonly inboxPending = this.gauge(
    'connector_inbox_pending_events',
    'Inbox backlog: received webhooks not processed yet (capped)',
  );
  private readonly inboxPendingByLane = this.gauge(
    'connector_inbox_pending_by_lane',
    'Inbox backlog per lane: the gateway the events call, "none" for no gateway (capped per lane)',
    ['lane'],
  );
  private readonly inboxOldestPending = this.gauge(
    'connector_inbox_oldest_pending_seconds',
    'Age of the oldest received webhook not processed yet',
  );
  private readonly rebillingSubscriptions = this.gauge(
    'connector_rebilling_subscriptions',
    'Connector-managed subscriptions due now, by state: due (waiting for a claim) or claimed (leased; capped)',
    ['state'],
  );
  private readonly unknownPayments = this.gauge(
    'connector_payments_unknown',
    'Payments whose gateway outcome is unknown, waiting for the reconciler (capped)',
  );

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly clock: Clock,
  ) {
    enableDefaultProcessMetrics();
  }

  /** The Prometheus exposition of this app's gauges plus the process metrics. */
  async scrape(): Promise<string> {
    try {
      await this.refresh();
    } catch (err) {
      // the process metrics are still worth serving when the database is not
      this.logger.warn(`database gauges unavailable: ${err instanceof Error ? err.message : String(err)}`);
    }
    return Registry.merge([processRegistry, this.registry]).metrics();
  }

  private async refresh(): Promise<void> {
    const outbox: { status: string; n: number }[] = await this.db.query(
      `SELECT status, count(*)::int AS n
         FROM (SELECT status FROM outbox_messages WHERE status <> 'delivered' LIMIT $1) undelivered
        GROUP BY status`,
      [BACKLOG_COUNT_CAP],
    );
    this.outboxMessages.reset();
    for (const row of outbox) {
      this.outboxMessages.set({ status: row.status }, row.n);
    }
    const retrying: { reason: string; n: number }[] = await this.db.query(
      `SELECT failure_reason AS reason, count(*)::int AS n
         FROM (SELECT failure_reason FROM outbox_messages
                WHERE status = 'pending' AND failure_reason IS NOT NULL LIMIT $1) failing
        GROUP BY failure_reason`,
      [BACKLOG_COUNT_CAP],
    );
    this.outboxRetrying.reset();
    for (const row of retrying) {
      this.outboxRetrying.set({ reason: row.reason }, row.n);
    }
    const [ages]: { outbox_age: number | null; inbox_age: number | null; inbox_pending: number }[] =
      await this.db.query(
        `SELECT
           (SELECT extract(epoch FROM now() - min(created_at))::float
              FROM outbox_messages WHERE status = 'pending') AS outbox_age,
           (SELECT extract(epoch FROM now() - min(received_at))::float
              FROM inbox_events WHERE status = 'pending') AS inbox_age,
           (SELECT count(*)::int FROM (SELECT 1 FROM inbox_events WHERE status = 'pending' LIMIT $1) p)
             AS inbox_pending`,
        [BACKLOG_COUNT_CAP],
      );
    this.outboxOldestPending.set(Math.max(0, ages?.outbox_age ?? 0));
    this.inboxOldestPending.set(Math.max(0, ages?.inbox_age ?? 0));
    this.inboxPending.set(ages?.inbox_pending ?? 0);
    // which gateway a backlog waits for
    const lanes = await pendingPerLane(this.db, BACKLOG_COUNT_CAP);
    this.inboxPendingByLane.reset();
    for (const row of lanes) {
      this.inboxPendingByLane.set({ lane: row.lane || 'none' }, row.pending);
    }

    // "now" of the rebilling schedule is the app clock (the sandbox test clock can move it)
    const [rebill]: { due: number; claimed: number; unknown: number }[] = await this.db.query(
      `SELECT
         (SELECT count(*) FILTER (WHERE lease_until IS NULL OR lease_until < $1)::int
            FROM (SELECT lease_until FROM connector_subscriptions WHERE next_attempt_at <= $1 LIMIT $2) d) AS due,
         (SELECT count(*) FILTER (WHERE lease_until >= $1)::int
            FROM (SELECT lease_until FROM connector_subscriptions WHERE next_attempt_at <= $1 LIMIT $2) d) AS claimed,
         (SELECT count(*)::int FROM (SELECT 1 FROM payments WHERE status = 'unknown' LIMIT $2) u) AS unknown`,
      [this.clock.now(), BACKLOG_COUNT_CAP],
    );
    this.rebillingSubscriptions.set({ state: 'due' }, rebill?.due ?? 0);
    this.rebillingSubscriptions.set({ state: 'claimed' }, rebill?.claimed ?? 0);
    this.unknownPayments.set(rebill?.unknown ?? 0);
  }

  private gauge(name: string, help: string, labelNames: string[] = []): Gauge {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }
}
