import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { claimLeased } from '../common/database/lease-claim';
import { returnedRows } from '../common/database/query-result';
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
 * Processes stored webhook events: claims due rows (SKIP LOCKED + a heartbeat-renewed, token-fenced
 * lease: safe on several instances), runs the source's handler, retries failures with backoff and
 * parks an event as `failed` (with its last error) after INBOX_MAX_ATTEMPTS for an operator.
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
    while (!this.stopped) {
      const lease = await this.claim();
      if (lease.events.length === 0) {
        return summary;
      }
      const queue = [...lease.events];
      const held = new Set(queue.map((e) => e.id));
      const heartbeat = this.heartbeat(lease.token, held);
      try {
        await Promise.all(
          Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
            // shutting down: finish the event in hand, take no other
            for (let event = queue.shift(); event; event = this.stopped ? undefined : queue.shift()) {
              const outcome = await this.process(event, lease.token);
              held.delete(event.id);
              if (outcome) {
                summary[outcome] += 1;
              }
            }
          }),
        );
      } finally {
        clearInterval(heartbeat);
      }
      // claimed but not started (shutdown): another instance may take them at once
      await this.release(lease.token, [...held]);
    }
    return summary;
  }

  /**
   * One batch leased under a fresh token. The lease is short (INBOX_LEASE_MS) and renewed by a heartbeat while
   * the batch is held, so a crashed instance's events come back soon but a slow handler keeps its event; the
   * token fences every write, so an instance that lost its lease (stalled past it) cannot overwrite the outcome
   * of the instance that took the event over.
   */
  private async claim(): Promise<{ token: string; events: InboxEventEntity[] }> {
    const now = this.clock.now();
    const token = randomUUID();
    const rows = await claimLeased<{ id: string }>(this.db, {
      table: 'inbox_events',
      where: `candidate.status = 'pending' AND candidate.next_attempt_at <= $1
        AND (candidate.locked_until IS NULL OR candidate.locked_until < $1)`,
      params: [now],
      orderBy: 'candidate.next_attempt_at',
      limit: BATCH,
      lease: { locked_until: this.leaseUntil(), lease_token: token },
      returning: 'id',
    });
    if (rows.length === 0) {
      return { token, events: [] };
    }
    const events = await this.db
      .getRepository(InboxEventEntity)
      .createQueryBuilder('e')
      .where('e.id IN (:...ids)', { ids: rows.map((r) => r.id) })
      .orderBy('e.received_at')
      .getMany();
    return { token, events };
  }

  private leaseUntil(): Date {
    return new Date(this.clock.now().getTime() + this.config.inbox.leaseMs);
  }

  /** Renews the lease of the events still held, three times per lease length. */
  private heartbeat(token: string, held: ReadonlySet<string>): NodeJS.Timeout {
    const timer = setInterval(
      () => {
        if (held.size === 0) {
          return;
        }
        this.db
          .query(
            `UPDATE inbox_events SET locked_until = $3 WHERE id = ANY($1::uuid[]) AND lease_token = $2 AND status = 'pending'`,
            [[...held], token, this.leaseUntil()],
          )
          .catch((err: unknown) => this.logger.warn(`inbox lease renewal failed: ${String(err)}`));
      },
      Math.max(50, Math.floor(this.config.inbox.leaseMs / 3)),
    );
    timer.unref();
    return timer;
  }

  private async release(token: string, ids: string[]): Promise<void> {
    if (ids.length > 0) {
      await this.db.query(
        `UPDATE inbox_events SET locked_until = NULL, lease_token = NULL
         WHERE id = ANY($1::uuid[]) AND lease_token = $2 AND status = 'pending'`,
        [ids, token],
      );
    }
  }

  /** Runs the handler and writes its outcome, fenced by the lease token; undefined when the lease was lost. */
  private async process(event: InboxEventEntity, token: string): Promise<keyof InboxPassSummary | undefined> {
    const handler = this.inbox.handler(event.source);
    try {
      if (!handler) {
        throw new Error(`no handler for ${event.source} events`);
      }
      const outcome = await handler(event);
      const written: unknown = await this.db.query(
        `UPDATE inbox_events SET status = $2, attempts = attempts + 1, processed_at = $3, locked_until = NULL,
           lease_token = NULL, last_error = NULL
         WHERE id = $1 AND lease_token = $4 RETURNING id`,
        [event.id, outcome, this.clock.now(), token],
      );
      return this.fenced(event, written) ? outcome : undefined;
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
      const written: unknown = await this.db.query(
        `UPDATE inbox_events SET status = $2, attempts = $3, last_error = $4, next_attempt_at = $5, locked_until = NULL,
           lease_token = NULL
         WHERE id = $1 AND lease_token = $6 RETURNING id`,
        [
          event.id,
          exhausted ? 'failed' : 'pending',
          attempts,
          message,
          new Date(this.clock.now().getTime() + delay),
          token,
        ],
      );
      if (!this.fenced(event, written)) {
        return undefined;
      }
      return exhausted ? 'failed' : 'retried';
    }
  }

  /** Whether the fenced outcome write hit the row; if not, the lease had passed to another instance. */
  private fenced(event: InboxEventEntity, result: unknown): boolean {
    if (returnedRows(result).length > 0) {
      return true;
    }
    this.logger.warn(
      `inbox ${event.source}/${event.eventType} ${event.id}: lease lost while its handler ran; outcome not written ` +
        `(the instance holding the lease now writes it; handlers are idempotent)`,
    );
    return false;
  }
}
