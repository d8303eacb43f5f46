import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { Clock } from '../common/clock/clock';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { RebillingService } from './rebilling.service';

const JOB = 'connector-rebilling';

/**
 * The rebilling tick: a cron job (REBILL_CRON, registered at boot because the expression is configuration)
 * whose only work is `runDue(now)`. Every instance ticks; the claim keeps them apart. A clock that can jump
 * (the sandbox's test clock) ticks it too on every jump, so `POST /sandbox/clock/advance` fires what became due.
 */
@Injectable()
export class RebillingScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RebillingScheduler.name);
  private unsubscribe: (() => void) | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly registry: SchedulerRegistry,
    private readonly rebilling: RebillingService,
    private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.rebill.cron !== 'off') {
      const job = CronJob.from({
        cronTime: this.config.rebill.cron,
        onTick: () => this.tick(),
        start: false,
      });
      this.registry.addCronJob(JOB, job);
      job.start();
      this.logger.log(`rebilling tick: "${this.config.rebill.cron}"`);
    }
    this.unsubscribe = this.clock.onAdvance?.(async (now) => {
      await this.rebilling.runDue(now);
    }, 'connector-rebilling');
  }

  onApplicationShutdown(): void {
    this.unsubscribe?.();
    if (this.registry.doesExist('cron', JOB)) {
      this.registry.deleteCronJob(JOB);
    }
  }

  async tick(): Promise<void> {
    await this.rebilling.runDue(this.clock.now());
  }
}
