import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { claimDueChecks } from '../common/database/lease-claim';
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
    const due = await claimDueChecks(this.db, {
      table: 'refunds',
      open: `status IN ('requested', 'unknown')`,
      now,
      leaseUntil: new Date(now.getTime() + CHECK_LEASE_MS),
      limit: this.config.reconciler.batchSize,
    });
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
