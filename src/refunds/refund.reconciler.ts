import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, LessThanOrEqual } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { PollingWorker } from '../common/polling-worker';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { RefundEntity } from './refund.entity';
import { RefundsService } from './refunds.service';

/** Refunds whose gateway answer was lost are sent again under the same idempotency key. */
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
    const cutoff = new Date(this.clock.now().getTime() - this.config.reconciler.unknownAfterMs);
    const unknown = await this.db.getRepository(RefundEntity).find({
      where: { status: 'unknown', updatedAt: LessThanOrEqual(cutoff) },
      take: 50,
    });
    for (const refund of unknown) {
      if (this.stopped) {
        break; // shutting down: nothing is claimed, the next pass (any instance) takes the rest
      }
      await this.refunds
        .execute(refund)
        .catch((err: unknown) => this.logger.error(`refund ${refund.id}: ${String(err)}`));
    }
    return { retried: unknown.length };
  }
}
