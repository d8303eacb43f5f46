import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { claimLeased } from '../common/database/lease-claim';
import { backoffDelay, PollingWorker } from '../common/polling-worker';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { InboxEventEntity } from './inbox-event.entity';
import { RetryLaterError } from '../common/errors/retry-later.error';
import { InboxService } from './inbox.service';

const BATCH = 20;
const CONCURRENCY = 4;

export interface InboxPassSummary {
  done: number;
  ignored: number;
  retried: number;
  failed: number;
}

/**
 * Processes stored webhook events: claims due rows (SKIP LOCKED + lease, safe on several
 * instances), runs the source's handler, retries failures with backoff and parks an event as
 * `failed` (with its last error) after INBOX_MAX_ATTEMPTS for an operator.
 */
@Injectable()
export class InboxWorker extends PollingWorker<InboxPassSummary> {
  protected readonly intervalMs: number;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly inbox: InboxService,
    private readonly clock: Clock,
  ) {
    super();
    this.intervalMs = config.inbox.pollIntervalMs;
  }

  override onApplicationBootstrap(): void {
    this.inbox.onWake(() => this.kick());
    super.onApplicationBootstrap();
  }

  protected async pass(): Promise<InboxPassSummary> {
    const summary: InboxPassSummary = { done: 0, ignored: 0, retried: 0, failed: 0 };
    for (;;) {
      const batch = await this.claim();
      if (batch.length === 0 || this.stopped) {
        return summary;
      }
      const queue = [...batch];
      await Promise.all(
        Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
          for (let event = queue.shift(); event; event = queue.shift()) {
            summary[await this.process(event)] += 1;
          }
        }),
      );
    }
  }

  private async claim(): Promise<InboxEventEntity[]> {
    const now = this.clock.now();
    const rows = await claimLeased<{ id: string }>(this.db, {
      table: 'inbox_events',
      where: `candidate.status = 'pending' AND candidate.next_attempt_at <= $1
        AND (candidate.locked_until IS NULL OR candidate.locked_until < $1)`,
      params: [now],
      orderBy: 'candidate.next_attempt_at',
      limit: BATCH,
      lease: { locked_until: new Date(now.getTime() + this.config.inbox.leaseMs) },
      returning: 'id',
    });
    if (rows.length === 0) {
      return [];
    }
    const events = await this.db
      .getRepository(InboxEventEntity)
      .createQueryBuilder('e')
      .where('e.id IN (:...ids)', { ids: rows.map((r) => r.id) })
      .orderBy('e.received_at')
      .getMany();
    return events;
  }

  private async process(event: InboxEventEntity): Promise<keyof InboxPassSummary> {
    const handler = this.inbox.handler(event.source);
    try {
      if (!handler) {
        throw new Error(`no handler for ${event.source} events`);
      }
      const outcome = await handler(event);
      await this.db.query(
        `UPDATE inbox_events SET status = $2, attempts = attempts + 1, processed_at = $3, locked_until = NULL, last_error = NULL
         WHERE id = $1`,
        [event.id, outcome, this.clock.now()],
      );
      return outcome;
    } catch (err) {
      const attempts = event.attempts + 1;
      const message = err instanceof Error ? err.message : String(err);
      const exhausted = attempts >= this.config.inbox.maxAttempts;
      if (err instanceof RetryLaterError) {
        this.logger.log(
          `inbox ${event.source}/${event.eventType} ${event.id} not applicable yet: ${message}`,
        );
      } else {
        this.logger.error(
          `inbox ${event.source}/${event.eventType} ${event.id} attempt ${attempts} failed: ${message}`,
        );
      }
      const delay = backoffDelay(attempts, this.config.inbox.backoffBaseMs, this.config.inbox.backoffMaxMs);
      await this.db.query(
        `UPDATE inbox_events SET status = $2, attempts = $3, last_error = $4, next_attempt_at = $5, locked_until = NULL
         WHERE id = $1`,
        [
          event.id,
          exhausted ? 'failed' : 'pending',
          attempts,
          message,
          new Date(this.clock.now().getTime() + delay),
        ],
      );
      return exhausted ? 'failed' : 'retried';
    }
  }
}
