import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { groupedLookups } from '../common/database/group-commit';
import { rowToEntity } from '../common/database/row-lock';
import { RetryLaterError } from '../common/errors/retry-later.error';
import { GatewayEvent } from '../gateways/gateway.provider';
import type { InboxOutcome } from '../inbox/inbox.service';
import { OutboxService } from '../outbox/outbox.service';
import { PurchasesService } from '../purchases/purchases.service';
import { SubscriptionsService } from '../subscriptions/subscriptions.service';
import { ExternallyManagedReports } from '../subscriptions/externally-managed-reports';
import { Money } from '../common/money/money';
import { CAPTURED_ATTEMPT_STATUSES, RebillAdjustment, RebillAttemptEntity } from './rebill-attempt.entity';
import { applyAfterSale } from '../refunds/after-sale';
import { RebillAttempts } from './rebill-attempts';
import { RebillOutcomeWriter } from './rebill-outcome.writer';
import { isUuid } from '../common/ids/uuid';

/** A stored gateway event, with the gateway it came from. */
export type ConnectorEvent = GatewayEvent & { gateway: string };

/** What finds a notification's attempt (see `findAttempt`). */
interface AttemptLookup {
  reference: string | null;
  keyOwner: string | null;
  gateway: string;
  externalPaymentId: string | null;
}

/**
 * Gateway notifications about what the connector manages itself: rebill attempts, one-off purchases and
 * connector-managed subscriptions. `handle` answers undefined for anything else, so the gateway events router
 * keeps its behaviour for payments made through the order flow.
 *
 * - PaidOrderNotification settles an attempt (also one Cleverbridge retried by itself, or one the customer paid
 *   through the checkout URL) or a purchase, and links a pending subscription to the Cleverbridge subscription id.
 * - Refund / PartialRefund / Chargeback notifications are recorded on the attempt or purchase, once per id.
 */
@Injectable()
export class ConnectorEventsHandler {
  private readonly logger = new Logger(ConnectorEventsHandler.name);
  /** notifications handled at the same time find their attempts with one statement */
  private readonly attemptLookups = groupedLookups<AttemptLookup>(
    (sql, params) => this.db.query(sql, params),
    `SELECT l.n::int AS lookup, a.*
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) WITH ORDINALITY
            AS l(reference, key_owner, gateway, external_payment_id, n)
       CROSS JOIN LATERAL (
         SELECT * FROM rebill_attempts a
          WHERE a.id = l.reference OR a.id = l.key_owner
             OR (a.gateway = l.gateway AND a.external_payment_id = l.external_payment_id)
          ORDER BY CASE a.id WHEN l.reference THEN 0 WHEN l.key_owner THEN 1 ELSE 2 END
          LIMIT 1) a`,
    (lookups) => [
      lookups.map((l) => l.reference),
      lookups.map((l) => l.keyOwner),
      lookups.map((l) => l.gateway),
      lookups.map((l) => l.externalPaymentId),
    ],
  );

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly attempts: RebillAttempts,
    private readonly outcomes: RebillOutcomeWriter,
    private readonly purchases: PurchasesService,
    private readonly subscriptions: SubscriptionsService,
    private readonly outbox: OutboxService,
    private readonly reports: ExternallyManagedReports,
    private readonly clock: Clock,
  ) {}

  async handle(gateway: string, stored: GatewayEvent): Promise<InboxOutcome | undefined> {
    const event: ConnectorEvent = { ...stored, gateway };
    switch (event.type) {
      case 'payment.paid':
        return this.paid(event);
      case 'refund.succeeded':
        return this.afterSale(event, 'refund');
      case 'chargeback':
        return this.afterSale(event, 'chargeback');
      default:
        return undefined;
    }
  }

  /** Our reference (payment, attempt or purchase id) and the attempt id inside the key (`<attempt id>:<try>`). */
  private ids(event: ConnectorEvent): { reference?: string; keyOwner?: string } {
    const reference = event.reference ?? event.paymentReference;
    const key = event.attemptKey;
    const keyOwner = key?.includes(':') ? key.split(':')[0] : key;
    return {
      ...(reference && isUuid(reference) ? { reference } : {}),
      ...(keyOwner && isUuid(keyOwner) ? { keyOwner } : {}),
    };
  }

  /**
   * The attempt the event is about: by our reference, else by the attempt id inside the key, else by the gateway's
   * payment id. The lookups of notifications handled at the same time go to one statement (every notification of a
   * rebill asks this, and a pass's notifications arrive together): each keeps its own lateral lookup and order.
   */
  private async findAttempt(event: ConnectorEvent): Promise<RebillAttemptEntity | null> {
    const { reference, keyOwner } = this.ids(event);
    const [row] = await this.attemptLookups.submit([
      {
        reference: reference ?? null,
        keyOwner: keyOwner ?? null,
        gateway: event.gateway,
        externalPaymentId: event.externalPaymentId ?? null,
      },
    ]);
    return row ? rowToEntity<RebillAttemptEntity>(this.db.getMetadata(RebillAttemptEntity), row) : null;
  }

  private async paid(event: ConnectorEvent): Promise<InboxOutcome | undefined> {
    const attempt = await this.findAttempt(event);
    if (
      attempt &&
      CAPTURED_ATTEMPT_STATUSES.includes(attempt.status) &&
      attempt.externalPaymentId === event.externalPaymentId
    ) {
      return 'ignored'; // the usual case: the confirmation of what our call recorded (nothing to lock)
    }
    if (attempt) {
      const outcome = await this.attemptPaid(attempt.id, event);
      this.outbox.notify();
      return outcome;
    }
    const { reference } = this.ids(event);
    return this.db.transaction(async (manager): Promise<InboxOutcome | undefined> => {
      const purchase = await this.purchases.findForEvent(
        manager,
        event.gateway,
        reference,
        event.externalPaymentId,
      );
      if (purchase) {
        return this.purchases.paid(manager, purchase, event);
      }
      const external = event.externalSubscriptionId;
      const ours = event.subscriptionReference;
      if (external && ours) {
        const linked = await this.subscriptions.linkExternalId(manager, ours, external);
        if (linked !== 'not_found') {
          return linked === 'linked' ? 'done' : 'ignored';
        }
      }
      if (external && (await this.subscriptions.findByExternalId(manager, event.gateway, external))) {
        // a purchase on one of our subscriptions that the connector did not make (e.g. in the gateway's UI)
        this.logger.warn(
          `${event.gateway} purchase ${event.externalPaymentId ?? '?'} on ${external} was not made by the connector`,
        );
        return 'ignored';
      }
      return undefined;
    });
  }

  private async attemptPaid(attemptId: string, event: ConnectorEvent): Promise<InboxOutcome> {
    return this.db.transaction(async (manager): Promise<InboxOutcome> => {
      const found = await manager.findOneByOrFail(RebillAttemptEntity, { id: attemptId });
      const sub = await this.subscriptions.lock(manager, found.subscriptionId);
      const attempt = await this.attempts.lock(manager, attemptId);
      if (!sub || !attempt) {
        throw new Error(`attempt ${attemptId} or its subscription vanished`);
      }
      const now = this.clock.now();
      const purchaseId = event.externalPaymentId ?? null;
      if (
        event.amount &&
        (event.amount.value !== attempt.amountMinor || event.amount.currency !== attempt.currency)
      ) {
        this.logger.warn(
          `attempt ${attempt.id}: paid ${event.amount.value} ${event.amount.currency}, expected ${attempt.amountMinor} ${attempt.currency}`,
        );
      }
      if (CAPTURED_ATTEMPT_STATUSES.includes(attempt.status)) {
        if (!purchaseId || attempt.externalPaymentId === purchaseId) {
          return 'ignored'; // the confirmation of what our call already recorded
        }
        if (attempt.adjustments.some((a) => a.type === 'duplicate_payment' && a.id === purchaseId)) {
          return 'ignored';
        }
        // e.g. Cleverbridge's own retry paid after our grace period had started a new try: refund in Cleverbridge
        this.logger.error(
          `attempt ${attempt.id}: period ${attempt.periodIndex} of subscription ${sub.id} paid twice ` +
            `(purchases ${attempt.externalPaymentId ?? '?'} and ${purchaseId}); refund one in Cleverbridge`,
        );
        const adjustment: RebillAdjustment = {
          type: 'duplicate_payment',
          id: purchaseId,
          amountMinor: event.amount?.value ?? attempt.amountMinor,
          at: now.toISOString(),
        };
        await manager.update(
          RebillAttemptEntity,
          { id: attempt.id },
          { adjustments: [...attempt.adjustments, adjustment] },
        );
        return 'done';
      }
      await this.outcomes.writeCaptured(manager, sub, attempt, purchaseId, now, [
        ...attempt.tries,
        {
          try: attempt.tryNumber,
          key: event.attemptKey ?? attempt.idempotencyKey,
          at: now.toISOString(),
          outcome: `paid_notification (was ${attempt.status})`,
          ...(purchaseId ? { externalPaymentId: purchaseId } : {}),
        },
      ]);
      return 'done';
    });
  }

  private async afterSale(
    event: ConnectorEvent,
    kind: 'refund' | 'chargeback',
  ): Promise<InboxOutcome | undefined> {
    const adjustmentId =
      event.externalModificationId ?? `${kind}:${event.externalPaymentId ?? event.eventKey}`;
    const amountMinor = event.amount?.value;
    const attempt = await this.findAttempt(event);
    if (attempt) {
      return this.db.transaction(async (manager): Promise<InboxOutcome> => {
        const sub = await this.subscriptions.lock(manager, attempt.subscriptionId);
        const locked = await this.attempts.lock(manager, attempt.id);
        if (!locked) {
          throw new Error(`attempt ${attempt.id} vanished`);
        }
        const result = applyAfterSale(
          { ...locked, chargedMinor: locked.amountMinor },
          { kind, id: adjustmentId, amountMinor, at: this.clock.now() },
        );
        if (result.kind === 'ignored') {
          return 'ignored'; // a redelivery, or nothing left to take back
        }
        if (result.kind === 'not_yet') {
          // the PaidOrderNotification has not been applied yet: the inbox tries again later
          throw new RetryLaterError(`attempt ${locked.id} is ${locked.status}, not captured yet`);
        }
        const adjustments = [...locked.adjustments, result.adjustment];
        await this.attempts.update(manager, locked, result.to, {
          adjustments,
          ...(kind === 'refund' ? { refundedMinor: result.refundedMinor } : {}),
        });
        if (kind === 'chargeback') {
          this.logger.warn(
            `attempt ${locked.id}: charged back (${result.adjustment.amountMinor} ${locked.currency})`,
          );
        }
        if (sub && locked.externalPaymentId) {
          await this.reports.reportAfterSale(manager, sub, {
            externalPaymentId: locked.externalPaymentId,
            kind,
            adjustmentId,
            amount: Money.of(result.adjustment.amountMinor, locked.currency),
            reason: event.reason ?? null,
          });
        }
        return 'done';
      });
    }
    const { reference } = this.ids(event);
    return this.db.transaction(async (manager): Promise<InboxOutcome | undefined> => {
      const purchase = await this.purchases.findForEvent(
        manager,
        event.gateway,
        reference,
        event.externalPaymentId,
      );
      if (!purchase) {
        return undefined;
      }
      const result = await this.purchases.afterSale(manager, purchase, kind, adjustmentId, amountMinor);
      if (result === 'not_yet') {
        throw new RetryLaterError(`purchase ${purchase.id} is ${purchase.status}, not captured yet`);
      }
      return result;
    });
  }
}
