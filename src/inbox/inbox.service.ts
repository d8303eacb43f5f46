import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { gatewayOfPaymentMethod } from '../config/payment-methods';
import { TokenCipher } from '../common/crypto/token-cipher';
import { returnedRows } from '../common/database/query-result';
import { InboxEventEntity, InboxSource, InboxStatus } from './inbox-event.entity';
import { InboxBatchWriter, InboxRow } from './inbox-batch-writer';
import { assertStorable } from './storable-payload';
import { sealWebhookSecrets, unsealWebhookSecrets } from './inbox-secrets';

export interface IncomingEvent {
  /** natural key: a redelivery of the same event has the same key */
  eventKey: string;
  eventType: string;
  payload: Record<string, unknown>;
}

/** What a handler made of an event. */
export type InboxOutcome = 'done' | 'ignored';
export type InboxHandler = (event: InboxEventEntity) => Promise<InboxOutcome>;

/** Durable webhook intake: store (deduplicated on the natural key), acknowledge, process later. */
@Injectable()
export class InboxService {
  private readonly handlers = new Map<InboxSource, InboxHandler>();
  private wake: ((lanes: readonly string[]) => void) | undefined;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly cipher: TokenCipher,
    private readonly writer: InboxBatchWriter,
  ) {}

  /**
   * The gateway an event's processing calls, known before running it ('' for none or unknown): a gateway's own
   * notifications, or a Cleeng event whose paymentMethodId CLEENG_PAYMENT_METHODS maps. The event's claim lane
   * and its per-gateway bound.
   */
  laneOf(source: InboxSource, payload: Record<string, unknown>): string {
    if (source !== 'cleeng') {
      return source;
    }
    const method = (payload.data as { paymentMethodId?: unknown } | undefined)?.paymentMethodId;
    return gatewayOfPaymentMethod(this.config.cleeng.paymentMethods, method) ?? '';
  }

  /** The handler sees the payload as received: tokens sealed at rest are opened only for it. */
  registerHandler(source: InboxSource, handler: InboxHandler): void {
    this.handlers.set(source, (event) =>
      handler(
        Object.assign(new InboxEventEntity(), event, {
          payload: unsealWebhookSecrets(this.cipher, event.payload),
        }),
      ),
    );
  }

  handler(source: InboxSource): InboxHandler | undefined {
    return this.handlers.get(source);
  }

  /** `fn` is told the lanes of the events just stored (or requeued): the worker looks there first. */
  onWake(fn: (lanes: readonly string[]) => void): void {
    this.wake = fn;
  }

  /**
   * Stores every event not seen before; duplicates (same source + key) are counted, not stored.
   * Recurring tokens are sealed before anything is written (DESIGN §6).
   */
  async store(source: InboxSource, events: IncomingEvent[]): Promise<{ stored: number; duplicates: number }> {
    // every event is checked before any is written: the request's rows go to one statement together
    const rows = events.map((received): InboxRow => {
      const receivedJson = assertStorable(received);
      const sealed = sealWebhookSecrets(this.cipher, received);
      return {
        source,
        lane: this.laneOf(source, received.payload),
        eventKey: sealed.eventKey,
        eventType: received.eventType,
        // nothing sealed: the JSON the check made is the one to store
        payloadJson: sealed === received ? receivedJson : JSON.stringify(sealed.payload),
        receivedAt: this.clock.now(),
      };
    });
    // resolves only once the statement holding these rows has committed (group commit with concurrent webhooks)
    const written = await this.writer.write(rows);
    const lanes = rows.filter((_, i) => written[i]).map((row) => row.lane);
    if (lanes.length > 0) {
      this.wake?.(lanes);
    }
    return { stored: lanes.length, duplicates: events.length - lanes.length };
  }

  async list(
    filter: { status?: InboxStatus; source?: InboxSource },
    limit = 100,
  ): Promise<InboxEventEntity[]> {
    return this.db.getRepository(InboxEventEntity).find({
      where: {
        ...(filter.status ? { status: filter.status } : {}),
        ...(filter.source ? { source: filter.source } : {}),
      },
      order: { receivedAt: 'DESC' },
      take: limit,
    });
  }

  async counts(): Promise<Record<string, number>> {
    const rows: { status: string; n: string }[] = await this.db.query(
      `SELECT status, count(*)::text AS n FROM inbox_events GROUP BY status`,
    );
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  /** Operator action: process a failed event again. */
  async requeue(id: string): Promise<boolean> {
    const rows = returnedRows<{ lane: string }>(
      await this.db.query(
        `UPDATE inbox_events SET status = 'pending', attempts = 0, next_attempt_at = $2, locked_until = NULL
         WHERE id = $1 AND status = 'failed' RETURNING lane`,
        [id, this.clock.now()],
      ),
    );
    if (rows.length > 0) {
      this.wake?.(rows.map((r) => r.lane));
    }
    return rows.length > 0;
  }
}
