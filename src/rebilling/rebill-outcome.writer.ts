import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { GroupCommit, itemByItem } from '../common/database/group-commit';
import { Money } from '../common/money/money';
import { decline as makeDecline, Decline } from '../gateways/decline-codes';
import { GatewayCallOutcome } from '../gateways/gateway-call';
import { PaymentResult } from '../gateways/gateway.provider';
import { parseInterval, periodStart } from '../subscriptions/billing-interval';
import { ConnectorSubscriptionEntity, SubscriptionStatus } from '../subscriptions/subscription.entity';
import {
  attemptTransition,
  subscriptionTransition,
  SubscriptionsService,
} from '../subscriptions/subscriptions.service';
import {
  ExternallyManagedCharge,
  ExternallyManagedReports,
} from '../subscriptions/externally-managed-reports';
import { OutboxService } from '../outbox/outbox.service';
import { Checkout, RebillDecision } from './dunning';
import { RebillAttemptEntity, RebillAttemptStatus, RebillTry } from './rebill-attempt.entity';
import { AttemptChanges } from './rebill-attempts';
import { RebillClaims } from './rebill-claims';
import {
  lockSubscriptionAndAttempt,
  setClause,
  updateAttemptAndSubscription,
  PairWrite,
  updateAttemptsAndSubscriptionsIfUnchanged,
} from './rebill-row-sql';

const MAX_TRIES_KEPT = 50;

/** How one subscription's turn in a pass ended (the counters of the pass summary). */
export type RebillOutcome =
  | 'captured'
  | 'declined'
  | 'retryScheduled'
  | 'actionRequired'
  | 'cancelled'
  | 'pending'
  | 'retryLater'
  | 'suspended'
  | 'skipped'
  | 'errors';

type SubscriptionChanges = Partial<Omit<ConnectorSubscriptionEntity, 'id' | 'createdAt' | 'updatedAt'>>;

/** What the decision is about: the attempt as it was when we decided (its key and state then). */
export interface DecidedAttempt {
  subscriptionId: string;
  attemptId: string;
  expectedKey: string;
  expectedStatuses: readonly RebillAttemptStatus[];
  /** both rows as the pass read them, with their versions (when it knows them): see `apply` */
  read?: {
    sub: ConnectorSubscriptionEntity;
    subVersion: string;
    attempt: RebillAttemptEntity;
    attemptVersion: string;
  };
}

/**
 * Writes a rebill decision: the attempt, the subscription's schedule and dunning, and the Cleeng report, in one
 * transaction. Every writer locks the subscription then the attempt, in that order.
 */
@Injectable()
export class RebillOutcomeWriter {
  private readonly logger = new Logger(RebillOutcomeWriter.name);
  /** captured rebills of charges that finish together: one statement (and one commit) for all of them */
  private readonly capturedWrites = new GroupCommit<PairWrite, boolean>(
    itemByItem((writes) => updateAttemptsAndSubscriptionsIfUnchanged(this.db.manager, writes)),
    { maxItems: 100, maxInFlight: 4 },
  );

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly subscriptions: SubscriptionsService,
    private readonly claims: RebillClaims,
    private readonly reports: ExternallyManagedReports,
    private readonly outbox: OutboxService,
  ) {}

  /**
   * If the attempt moved on meanwhile (a notification settled it, or another instance whose lease ours replaced
   * wrote the same answer first), nothing is written twice. The common outcome, captured, is one statement (shared
   * with the charges that finish together) when the pass knows the versions of both rows it read: written only if
   * neither row changed since (then the locked fresh read would have read the same rows and decided the same).
   * Otherwise, three statements besides BEGIN/COMMIT at most: the fresh locked read of both rows, their update, and
   * the Cleeng report (outbox) when there is one.
   */
  async apply(
    decided: DecidedAttempt,
    decision: RebillDecision,
    now: Date,
    answer?: GatewayCallOutcome<PaymentResult>,
  ): Promise<RebillOutcome> {
    if (
      decision.kind === 'captured' &&
      decided.read &&
      (await this.capturedIfUnchanged(decided.read, decision, now, answer))
    ) {
      return 'captured';
    }
    return this.db.transaction(async (manager): Promise<RebillOutcome> => {
      const locked = await lockSubscriptionAndAttempt(manager, decided.subscriptionId, decided.attemptId);
      if (!locked) {
        throw new Error(`subscription ${decided.subscriptionId} or attempt ${decided.attemptId} vanished`);
      }
      const { sub, attempt } = locked;
      if (
        attempt.idempotencyKey !== decided.expectedKey ||
        !decided.expectedStatuses.includes(attempt.status)
      ) {
        await this.claims.releaseLocked(manager, sub);
        // the gateway's notification of this very charge was applied first: this pass did capture it
        const confirmed =
          decision.kind === 'captured' &&
          attempt.status === 'captured' &&
          attempt.idempotencyKey === decided.expectedKey;
        return confirmed ? 'captured' : 'skipped';
      }
      return this.write(manager, sub, attempt, decision, now, triesAfter(attempt, decision, answer, now));
    });
  }

  /**
   * `writeCaptured` of the rows as read, conditional on their versions, in one statement with the captured rebills
   * of the charges that finish at the same time (each pair written or not on its own). False (nothing written)
   * when either row changed since, or when the report would also link a new Cleeng subscription (two messages and
   * a column: the locked path does that).
   */
  private async capturedIfUnchanged(
    read: NonNullable<DecidedAttempt['read']>,
    decision: Extract<RebillDecision, { kind: 'captured' }>,
    now: Date,
    answer: GatewayCallOutcome<PaymentResult> | undefined,
  ): Promise<boolean> {
    const { sub, attempt } = read;
    const report = this.reports.chargeReport(
      sub,
      this.charge(attempt, 'captured', decision.externalPaymentId),
    );
    if (report?.creates) {
      return false;
    }
    const [written] = await this.capturedWrites.submit([
      {
        attempt: {
          id: attempt.id,
          version: read.attemptVersion,
          changes: {
            ...this.capturedAttempt(
              attempt,
              decision.externalPaymentId ?? null,
              now,
              triesAfter(attempt, decision, answer, now),
            ),
            status: attemptTransition(attempt.status, 'captured'),
          },
        },
        subscription: { id: sub.id, version: read.subVersion, changes: this.advanced(sub, attempt, now) },
        ...(report ? { message: this.outbox.columnValues(report.message) } : {}),
      },
    ]);
    return written === true;
  }

  /** The period is paid but the schedule did not move (it always moves in the same transaction): repair it. */
  async repairPaidSchedule(subscriptionId: string, attempt: RebillAttemptEntity, now: Date): Promise<void> {
    await this.db.transaction(async (manager) => {
      const locked = await this.subscriptions.lock(manager, subscriptionId);
      if (locked && locked.periodIndex === attempt.periodIndex) {
        await this.updateSub(manager, locked, this.advanced(locked, attempt, now));
      } else if (locked) {
        await this.claims.releaseLocked(manager, locked);
      }
    });
  }

  private async write(
    manager: EntityManager,
    sub: ConnectorSubscriptionEntity,
    attempt: RebillAttemptEntity,
    decision: RebillDecision,
    now: Date,
    tries: RebillTry[],
  ): Promise<RebillOutcome> {
    const cancelled = sub.status === 'cancelled';
    const release = { leaseOwner: null, leaseUntil: null };
    const subStatus = (to: SubscriptionStatus): SubscriptionStatus =>
      cancelled ? 'cancelled' : subscriptionTransition(sub.status, to);
    switch (decision.kind) {
      case 'captured':
        await this.writeCaptured(manager, sub, attempt, decision.externalPaymentId ?? null, now, tries);
        return 'captured';
      case 'pending':
        await this.update(
          manager,
          sub,
          attempt,
          'pending',
          { externalPaymentId: decision.externalPaymentId ?? attempt.externalPaymentId, tries },
          { ...release, nextAttemptAt: decision.recheckAt },
        );
        return 'pending';
      case 'retry_same_key':
        await this.update(
          manager,
          sub,
          attempt,
          decision.unknown ? 'unknown' : 'charging',
          {
            technicalFailures: attempt.technicalFailures + 1,
            lastError: decision.error.slice(0, 500),
            tries,
          },
          { ...release, nextAttemptAt: decision.retryAt, lastError: decision.error.slice(0, 500) },
        );
        return 'retryLater';
      case 'retry_scheduled':
        await this.update(
          manager,
          sub,
          attempt,
          'retry_scheduled',
          {
            decline: decision.decline,
            retryScheduled: true,
            externalPaymentId: decision.externalPaymentId ?? attempt.externalPaymentId,
            tries,
          },
          {
            ...release,
            status: subStatus('past_due'),
            nextAttemptAt: decision.graceUntil,
            lastDecline: decision.decline,
            ...checkoutColumns(decision.checkout),
          },
        );
        return 'retryScheduled';
      case 'soft_decline':
        await this.update(
          manager,
          sub,
          attempt,
          cancelled ? 'failed' : 'declined',
          {
            decline: decision.decline,
            retryScheduled: false,
            externalPaymentId: decision.externalPaymentId ?? attempt.externalPaymentId,
            tries,
          },
          {
            ...release,
            status: subStatus('past_due'),
            nextAttemptAt: cancelled ? null : decision.nextTryAt,
            dunningStep: decision.dunningStep,
            dunningStartedAt: decision.dunningStartedAt,
            lastDecline: decision.decline,
            ...checkoutColumns(decision.checkout),
          },
        );
        await this.report(manager, sub, attempt, 'rejected', decision.externalPaymentId, decision.decline);
        return 'declined';
      case 'dunning_exhausted':
        await this.update(
          manager,
          sub,
          attempt,
          'failed',
          {
            decline: decision.decline,
            retryScheduled: false,
            externalPaymentId: decision.externalPaymentId ?? attempt.externalPaymentId,
            tries,
          },
          {
            ...release,
            status: subStatus('cancelled'),
            nextAttemptAt: null,
            lastDecline: decision.decline,
            checkoutUrl: null,
            checkoutExpiresAt: null,
            ...(cancelled ? {} : { cancelledAt: now, cancelReason: 'dunning_exhausted' }),
          },
        );
        await this.report(manager, sub, attempt, 'rejected', decision.externalPaymentId, decision.decline);
        this.logger.warn(
          `subscription ${sub.id}: cancelled after the last dunning retry (${decision.decline.code})`,
        );
        return 'cancelled';
      case 'hard_decline':
        await this.update(
          manager,
          sub,
          attempt,
          decision.checkout ? 'action_required' : 'failed',
          {
            decline: decision.decline,
            retryScheduled: false,
            externalPaymentId: decision.externalPaymentId ?? attempt.externalPaymentId,
            tries,
          },
          {
            ...release,
            status: subStatus('action_required'),
            nextAttemptAt: null,
            lastDecline: decision.decline,
            ...checkoutColumns(decision.checkout),
          },
        );
        await this.report(manager, sub, attempt, 'rejected', decision.externalPaymentId, decision.decline);
        return 'actionRequired';
      case 'invalid': {
        const decline = makeDecline('GW_ERROR', {
          ...(decision.gatewayCode ? { code: decision.gatewayCode } : {}),
          reason: decision.error,
        });
        await this.update(
          manager,
          sub,
          attempt,
          'failed',
          { decline, lastError: decision.error.slice(0, 500), tries },
          {
            ...release,
            status: subStatus('suspended'),
            nextAttemptAt: null,
            lastError: decision.error.slice(0, 500),
          },
        );
        this.logger.error(
          `subscription ${sub.id}: suspended, the gateway refused the rebill: ${decision.error}`,
        );
        return 'suspended';
      }
    }
  }

  /**
   * The period is paid (by our call, or by a notification: a checkout payment, the gateway's own retry, a late
   * answer). Advances the schedule from the anchor, ends dunning, reports to Cleeng. Shared with the
   * notification path; the caller holds the locks.
   */
  async writeCaptured(
    manager: EntityManager,
    sub: ConnectorSubscriptionEntity,
    attempt: RebillAttemptEntity,
    externalPaymentId: string | null,
    now: Date,
    tries: RebillTry[] = attempt.tries,
  ): Promise<void> {
    await this.update(
      manager,
      sub,
      attempt,
      'captured',
      this.capturedAttempt(attempt, externalPaymentId, now, tries),
      this.advanced(sub, attempt, now),
    );
    await this.report(manager, sub, attempt, 'captured', externalPaymentId ?? undefined);
  }

  private capturedAttempt(
    attempt: RebillAttemptEntity,
    externalPaymentId: string | null,
    now: Date,
    tries: RebillTry[],
  ): AttemptChanges {
    return {
      externalPaymentId: externalPaymentId ?? attempt.externalPaymentId,
      capturedAt: now,
      decline: null,
      retryScheduled: false,
      lastError: null,
      tries,
    };
  }

  /** The schedule moved past the attempt's period (if it is the current one), dunning ended, our lease dropped. */
  private advanced(
    sub: ConnectorSubscriptionEntity,
    attempt: RebillAttemptEntity,
    now: Date,
  ): SubscriptionChanges {
    const cancelled = sub.status === 'cancelled';
    const advance = sub.periodIndex === attempt.periodIndex;
    const nextIndex = advance ? sub.periodIndex + 1 : sub.periodIndex;
    const nextBillingAt = advance
      ? periodStart(sub.billingAnchor, parseInterval(sub.billingInterval), nextIndex)
      : sub.nextBillingAt;
    return {
      leaseOwner: null,
      leaseUntil: null,
      status: cancelled ? 'cancelled' : subscriptionTransition(sub.status, 'active'),
      periodIndex: nextIndex,
      nextBillingAt,
      // one period per subscription per pass: a subscription far behind catches up tick by tick
      nextAttemptAt: cancelled ? null : new Date(Math.max(nextBillingAt.getTime(), now.getTime() + 1)),
      dunningStep: 0,
      dunningStartedAt: null,
      lastDecline: null,
      lastError: null,
      checkoutUrl: null,
      checkoutExpiresAt: null,
    };
  }

  /** Externally managed payment report to Cleeng (ExternallyManagedReports decides whether and how). */
  private async report(
    manager: EntityManager,
    sub: ConnectorSubscriptionEntity,
    attempt: RebillAttemptEntity,
    status: 'captured' | 'rejected',
    externalPaymentId: string | undefined,
    decline?: Decline,
  ): Promise<void> {
    await this.reports.reportCharge(manager, sub, this.charge(attempt, status, externalPaymentId, decline));
  }

  private charge(
    attempt: RebillAttemptEntity,
    status: 'captured' | 'rejected',
    externalPaymentId: string | undefined,
    decline?: Decline,
  ): ExternallyManagedCharge {
    return {
      status,
      amount: Money.of(attempt.amountMinor, attempt.currency),
      externalPaymentId: externalPaymentId ?? attempt.externalPaymentId ?? attempt.idempotencyKey,
      attemptId: attempt.id,
      tryNumber: attempt.tryNumber,
      ...(decline ? { decline } : {}),
    };
  }

  /** The attempt's state change (through its transition table) and the subscription's, in one statement. */
  private async update(
    manager: EntityManager,
    sub: ConnectorSubscriptionEntity,
    attempt: RebillAttemptEntity,
    to: RebillAttemptStatus,
    attemptChanges: AttemptChanges,
    subChanges: SubscriptionChanges,
  ): Promise<void> {
    const status = attemptTransition(attempt.status, to);
    await updateAttemptAndSubscription(
      manager,
      { id: attempt.id, changes: { ...attemptChanges, status } },
      { id: sub.id, changes: subChanges },
    );
    Object.assign(attempt, attemptChanges, { status });
    Object.assign(sub, subChanges);
  }

  private async updateSub(
    manager: EntityManager,
    sub: ConnectorSubscriptionEntity,
    changes: SubscriptionChanges,
  ): Promise<void> {
    const params: unknown[] = [sub.id];
    const set = setClause(manager.connection.getMetadata(ConnectorSubscriptionEntity), changes, params);
    await manager.query(`UPDATE connector_subscriptions SET ${set} WHERE id = $1`, params);
    Object.assign(sub, changes);
  }
}

/**
 * The attempt's history of tries with the gateway's answer to this one added (the last MAX_TRIES_KEPT), unchanged
 * without an answer: the same history whichever path writes the outcome.
 */
function triesAfter(
  attempt: RebillAttemptEntity,
  decision: RebillDecision,
  answer: GatewayCallOutcome<PaymentResult> | undefined,
  now: Date,
): RebillTry[] {
  return answer
    ? [...attempt.tries, tryRecord(attempt, decision, answer, now)].slice(-MAX_TRIES_KEPT)
    : attempt.tries;
}

/** One gateway call (try) of the attempt, as kept in its history. */
function tryRecord(
  attempt: RebillAttemptEntity,
  decision: RebillDecision,
  answer: GatewayCallOutcome<PaymentResult>,
  now: Date,
): RebillTry {
  const result = answer.kind === 'ok' ? answer.value : undefined;
  const decline = result?.decline ?? (answer.kind === 'not_processed' ? answer.decline : undefined);
  return {
    try: attempt.tryNumber,
    key: attempt.idempotencyKey,
    at: now.toISOString(),
    outcome: decision.kind,
    ...(result?.externalPaymentId ? { externalPaymentId: result.externalPaymentId } : {}),
    ...(decline
      ? { decline: { code: decline.code, ...(decline.rawCode ? { rawCode: decline.rawCode } : {}) } }
      : {}),
    ...(answer.kind === 'unknown' ? { error: answer.error } : {}),
    ...(answer.kind === 'invalid' ? { error: answer.error.message } : {}),
  };
}

function checkoutColumns(checkout: Checkout | undefined): SubscriptionChanges {
  return checkout
    ? { checkoutUrl: checkout.url, checkoutExpiresAt: checkout.expiresAt }
    : { checkoutUrl: null, checkoutExpiresAt: null };
}
