import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { claimDueChecks } from '../common/database/lease-claim';
import { PollingWorker } from '../common/polling-worker';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { PurchaseEntity } from './purchase.entity';
import { PurchasesService } from './purchases.service';

/** How long a claimed purchase stays reserved for this instance's pass (one lookup with retries). */
const CHECK_LEASE_MS = 5 * 60_000;

/**
 * One-off purchases whose ProcessCart outcome is not known (`processing`: the process died around the call;
 * `unknown`: the answer was lost) and whose notification did not come: the gateway's lookup decides. Found ->
 * as if it had answered; nothing found -> nothing was bought, the purchase is rejected (never sent again from
 * here: nobody is waiting for it); the lookup failing -> looked up again after a backoff. Ordered by
 * `next_check_at`, so a few that cannot be resolved never crowd out newer ones.
 */
@Injectable()
export class PurchaseReconciler extends PollingWorker<{ checked: number; resolved: number }> {
  protected readonly intervalMs: number;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly purchases: PurchasesService,
    private readonly clock: Clock,
  ) {
    super();
    this.intervalMs = config.reconciler.intervalMs;
  }

  protected async pass(): Promise<{ checked: number; resolved: number }> {
    const now = this.clock.now();
    const due = await claimDueChecks(this.db, {
      table: 'purchases',
      open: `status IN ('processing', 'unknown')`,
      now,
      leaseUntil: new Date(now.getTime() + CHECK_LEASE_MS),
      limit: this.config.reconciler.batchSize,
    });
    let resolved = 0;
    for (const row of due) {
      if (this.stopped) {
        break; // shutting down: the lease runs out and the next pass (any instance) takes the rest
      }
      try {
        const purchase = await this.db.getRepository(PurchaseEntity).findOneByOrFail({ id: row.id });
        if (purchase.status !== 'processing' && purchase.status !== 'unknown') {
          continue;
        }
        const looked = await this.purchases.lookUp(purchase);
        const after =
          looked.kind === 'not_found' ? await this.purchases.abandon(purchase.id) : looked.purchase;
        if (after.status === 'processing' || after.status === 'unknown') {
          await this.purchases.checkLater(after.id, row.check_attempts);
        } else {
          resolved += 1;
        }
      } catch (err) {
        this.logger.error(
          `reconciling purchase ${row.id} failed: ${err instanceof Error ? err.message : String(err)}`,
        );
        await this.purchases.checkLater(row.id, row.check_attempts).catch(() => undefined);
      }
    }
    return { checked: due.length, resolved };
  }
}
