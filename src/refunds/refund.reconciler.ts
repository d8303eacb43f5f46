import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { returnedRows } from '../common/database/query-result';
import { backoffDelay, PollingWorker } from '../common/polling-worker';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { RefundEntity } from './refund.entity';
import { RefundsService } from './refunds.service';

/** How long a claimed refund stays reserved for this instance's pass. */
const CHECK_LEASE_MS = 5 * 60_000;

/**
 * Refunds whose gateway answer was lost (`unknown`), or whose process died before or during the gateway call
 * (`requested`, past RECONCILE_CANCEL_AFTER_MS), are sent again under the same idempotency key: the gateway
 * answers with the first result, and a definite failure releases the reserved amount (RefundsService.fail).
 * Ordered by `next_check_at` with backoff, so refunds that cannot be settled yet do not crowd out newer ones.
 */
@Injectable()
export class RefundReconciler extends PollingWorker<{ retried: number }> {
  protected readonly intervalMs: number;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly refunds: RefundsService,
    private readonly clock: Clock,
  ) {
    super();
    this.intervalMs = config.reconciler.intervalMs;
  }

  protected async pass(): Promise<{ retried: number }> {
    const now = this.clock.now();
    const result: unknown = await this.db.query(
      `UPDATE refunds SET next_check_at = $2, check_attempts = check_attempts + 1
       WHERE id IN (
         SELECT candidate.id FROM refunds candidate
         WHERE candidate.status IN ('requested', 'unknown') AND candidate.next_check_at <= $1
         ORDER BY candidate.next_check_at
         LIMIT ${this.config.reconciler.batchSize}
         FOR UPDATE SKIP LOCKED)
       RETURNING id, check_attempts`,
      [now, new Date(now.getTime() + CHECK_LEASE_MS)],
    );
    const due = returnedRows<{ id: string; check_attempts: number }>(result);
    for (const row of due) {
      if (this.stopped) {
        break; // shutting down: nothing is claimed, the next pass (any instance) takes the rest
      }
      const refund = await this.db.getRepository(RefundEntity).findOneBy({ id: row.id });
      if (!refund || (refund.status !== 'requested' && refund.status !== 'unknown')) {
        continue;
      }
      await this.refunds
        .execute(refund)
        .catch((err: unknown) => this.logger.error(`refund ${refund.id}: ${String(err)}`));
      const { intervalMs, backoffMaxMs } = this.config.reconciler;
      const next = new Date(
        this.clock.now().getTime() + backoffDelay(row.check_attempts, intervalMs, backoffMaxMs),
      );
      await this.db.query(
        `UPDATE refunds SET next_check_at = $2 WHERE id = $1 AND status IN ('requested', 'unknown')`,
        [row.id, next],
      );
    }
    return { retried: due.length };
  }
}
