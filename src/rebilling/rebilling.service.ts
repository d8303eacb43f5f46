import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager, In } from 'typeorm';
import { returnedRows } from '../common/database/query-result';
import { DomainError } from '../common/errors/domain-error';
import { Money } from '../common/money/money';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { decline as makeDecline, Decline } from '../gateways/decline-codes';
import { callGateway, GatewayCallOutcome } from '../gateways/gateway-call';
import { PaymentResult } from '../gateways/gateway.provider';
import { GatewayRegistry } from '../gateways/gateway.registry';
import { OutboxService } from '../outbox/outbox.service';
import { parseInterval, periodStart } from '../subscriptions/billing-interval';
import { ConnectorSubscriptionEntity, SubscriptionStatus } from '../subscriptions/subscription.entity';
import {
  attemptTransition,
  subscriptionTransition,
  SubscriptionsService,
} from '../subscriptions/subscriptions.service';
import { emsPaymentReport } from './cleeng-report';
import { Checkout, decideDecline, decideRebill, DunningPolicy, RebillDecision } from './dunning';
import { attemptKey, RebillAttemptEntity, RebillAttemptStatus, RebillTry } from './rebill-attempt.entity';
import { lockById } from '../common/database/row-lock';

/** unknown outcomes / technical failures: same key again after 1 min, 2, 4, ... at most 1 h */
const TECHNICAL_BASE_MS = 60_000;
const TECHNICAL_MAX_MS = 3_600_000;
/** an unexpected error while handling one subscription: look again after this */
const ERROR_RETRY_MS = 60_000;
const MAX_TRIES_KEPT = 50;

export interface RebillRunSummary {
  /** subscriptions claimed (due and not leased by another instance) */
  claimed: number;
  batches: number;
  captured: number;
  declined: number;
  retryScheduled: number;
  actionRequired: number;
  cancelled: number;
  pending: number;
  /** unknown outcomes and technical failures, to be repeated under the same key */
  retryLater: number;
  suspended: number;
  /** nothing to do, or settled meanwhile by a notification / another instance */
  skipped: number;
  errors: number;
  ms: number;
}

type Outcome = Exclude<keyof RebillRunSummary, 'claimed' | 'batches' | 'ms'>;

/** Test seam: what runs between the gateway's answer and the database write ("kill the process here"). */
export interface RebillHooks {
  afterGatewayCall?: (call: {
    subscriptionId: string;
    attemptId: string;
    idempotencyKey: string;
  }) => Promise<void>;
}

export interface PassClock {
  /** the time the pass was asked to run for: what is due */
  due: Date;
  /** that time moved on by the real time elapsed since: leases and new schedules */
  now(): Date;
}

export interface Claimed {
  subscription: ConnectorSubscriptionEntity;
  claimedAtMs: number;
}

type SubscriptionChanges = Partial<Omit<ConnectorSubscriptionEntity, 'id' | 'createdAt' | 'updatedAt'>>;
type AttemptChanges = Partial<Omit<RebillAttemptEntity, 'id' | 'createdAt' | 'updatedAt'>>;

const emptySummary = (): RebillRunSummary => ({
  claimed: 0,
  batches: 0,
  captured: 0,
  declined: 0,
  retryScheduled: 0,
  actionRequired: 0,
  cancelled: 0,
  pending: 0,
  retryLater: 0,
  suspended: 0,
  skipped: 0,
  errors: 0,
  ms: 0,
});

const later = (at: Date, ms: number): Date => new Date(at.getTime() + ms);

/**
 * Connector-managed rebilling (billing mode 3). `runDue(now)` claims due subscriptions in batches
 * (`FOR UPDATE SKIP LOCKED` + a lease owned by this instance, so instances sharing a database never take the
 * same row), charges them with bounded concurrency and applies dunning.
 *
 * Charged once per period, whatever fails: the attempt row is unique per (subscription, period) and is written
 * (state `charging`, with its key) BEFORE the gateway call; a crash after the call leaves it `charging`, and the
 * next run repeats the call with the SAME key, which the gateway answers from its first result. A new key is
 * only ever made after a definitive decline (the next dunning try).
 */
@Injectable()
export class RebillingService implements OnApplicationShutdown {
  private readonly logger = new Logger(RebillingService.name);
  /** lease owner id of this process */
  readonly instanceId = randomUUID();
  readonly hooks: RebillHooks = {};
  private readonly policy: DunningPolicy;
  private queued: { due: Date; result: Promise<RebillRunSummary> } | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly gateways: GatewayRegistry,
    private readonly outbox: OutboxService,
    private readonly subscriptions: SubscriptionsService,
  ) {
    this.policy = {
      scheduleMs: config.rebill.dunningScheduleMs,
      retryGraceMs: config.rebill.retryGraceMs,
      technicalBaseMs: TECHNICAL_BASE_MS,
      technicalMaxMs: TECHNICAL_MAX_MS,
    };
  }

  onApplicationShutdown(): void {
    this.stopped = true;
  }

  /**
   * Charges everything due at `now`. Passes never overlap in one process: a call while a pass runs joins the
   * pass queued behind it (widened to the latest `now`), so no tick is lost and no row is handled twice here.
   */
  runDue(now: Date): Promise<RebillRunSummary> {
    if (this.queued) {
      if (now.getTime() > this.queued.due.getTime()) {
        this.queued.due = now;
      }
      return this.queued.result;
    }
    const queued = { due: now } as { due: Date; result: Promise<RebillRunSummary> };
    queued.result = this.tail.then(() => {
      if (this.queued === queued) {
        this.queued = undefined;
      }
      return this.pass(queued.due);
    });
    this.queued = queued;
    this.tail = queued.result.catch(() => undefined);
    return queued.result;
  }

  private async pass(due: Date): Promise<RebillRunSummary> {
    const started = performance.now();
    const clock: PassClock = { due, now: () => new Date(due.getTime() + (performance.now() - started)) };
    const summary = emptySummary();
    const seen = new Set<string>();
    try {
      while (!this.stopped) {
        const batch = await this.claim(clock);
        if (batch.length === 0) {
          break;
        }
        summary.batches += 1;
        summary.claimed += batch.length;
        await this.inParallel(batch, async (claimed) => {
          const id = claimed.subscription.id;
          if (seen.has(id)) {
            // safety net: a row handled in this pass that is still due waits for the next tick
            await this.release(id, { nextAttemptAt: later(due, 1), onlyLater: true });
            summary.skipped += 1;
            return;
          }
          seen.add(id);
          summary[await this.processClaimed(claimed, clock)] += 1;
        });
      }
    } catch (err) {
      summary.errors += 1;
      this.logger.error(`rebilling pass failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    summary.ms = Math.round(performance.now() - started);
    if (summary.claimed > 0) {
      this.logger.log(
        `rebilling pass for ${due.toISOString()}: ${summary.claimed} claimed, ${summary.captured} captured, ` +
          `${summary.declined} declined, ${summary.retryScheduled} retry scheduled, ${summary.actionRequired} ` +
          `action required, ${summary.retryLater} retry later, ${summary.errors} errors (${summary.ms} ms)`,
      );
      this.outbox.notify();
    }
    return summary;
  }

  /**
   * One batch of due rows, leased to this instance. SKIP LOCKED keeps concurrent claims from waiting on each
   * other; the lease keeps a row ours after the statement, until we release it or it expires (a crashed
   * instance's rows come back after REBILL_LEASE).
   */
  async claim(clock: PassClock, limit = this.config.rebill.batchSize): Promise<Claimed[]> {
    const now = clock.now();
    const rows = returnedRows<{ id: string }>(
      await this.db.query(
        `UPDATE connector_subscriptions SET lease_owner = $3, lease_until = $4
         WHERE id IN (
           SELECT id FROM connector_subscriptions
           WHERE next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $2)
           ORDER BY next_attempt_at
           LIMIT $5
           FOR UPDATE SKIP LOCKED)
         RETURNING id`,
        [clock.due, now, this.instanceId, later(now, this.config.rebill.leaseMs), limit],
      ),
    );
    if (rows.length === 0) {
      return [];
    }
    const claimedAtMs = performance.now();
    const subscriptions = await this.db
      .getRepository(ConnectorSubscriptionEntity)
      .findBy({ id: In(rows.map((r) => r.id)) });
    return subscriptions
      .sort((a, b) => (a.nextAttemptAt?.getTime() ?? 0) - (b.nextAttemptAt?.getTime() ?? 0))
      .map((subscription) => ({ subscription, claimedAtMs }));
  }

  private async inParallel<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
    const queue = [...items];
    const lanes = Math.min(this.config.rebill.concurrency, queue.length);
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
          await work(item);
        }
      }),
    );
  }

  private async processClaimed(claimed: Claimed, clock: PassClock): Promise<Outcome> {
    const sub = claimed.subscription;
    try {
      if (
        performance.now() - claimed.claimedAtMs > this.config.rebill.leaseMs / 2 &&
        !(await this.renewLease(sub.id, clock))
      ) {
        return 'skipped'; // our lease ran out and another instance has the row now
      }
      return await this.process(sub, clock);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.logger.error(`rebilling subscription ${sub.id} failed: ${message}`);
      await this.db
        .query(
          `UPDATE connector_subscriptions SET next_attempt_at = $2, last_error = $3, lease_owner = NULL, lease_until = NULL
           WHERE id = $1 AND lease_owner = $4`,
          [sub.id, later(clock.now(), ERROR_RETRY_MS), message.slice(0, 500), this.instanceId],
        )
        .catch((releaseErr: unknown) =>
          this.logger.error(`releasing ${sub.id} failed: ${String(releaseErr)}`),
        );
      return 'errors';
    }
  }

  private async renewLease(id: string, clock: PassClock): Promise<boolean> {
    const now = clock.now();
    const rows = returnedRows(
      await this.db.query(
        `UPDATE connector_subscriptions SET lease_until = $3 WHERE id = $1 AND lease_owner = $2 AND lease_until >= $4 RETURNING id`,
        [id, this.instanceId, later(now, this.config.rebill.leaseMs), now],
      ),
    );
    return rows.length > 0;
  }

  /** What the claimed subscription needs now: a first try, a replay, the next dunning try, or nothing. */
  private async process(sub: ConnectorSubscriptionEntity, clock: PassClock): Promise<Outcome> {
    const billable = sub.status === 'active' || sub.status === 'past_due';
    if (!billable && sub.status !== 'cancelled') {
      await this.release(sub.id, { nextAttemptAt: null });
      return 'skipped';
    }
    const attempt = billable ? await this.ensureAttempt(sub, clock) : await this.currentAttempt(sub);
    if (!attempt) {
      await this.release(sub.id, { nextAttemptAt: null });
      return 'skipped';
    }
    switch (attempt.status) {
      case 'charging':
      case 'unknown':
      case 'pending':
      case 'declined': {
        if (attempt.status === 'declined' && !billable) {
          await this.release(sub.id, { nextAttemptAt: null });
          return 'skipped';
        }
        // in flight, or died in flight: the SAME key again; definitively declined: the next try, the next key
        const charging = await this.markCharging(
          attempt,
          attempt.status === 'declined' ? attempt.tryNumber + 1 : attempt.tryNumber,
        );
        if (!charging) {
          // settled meanwhile (a notification): whoever settled it set the schedule
          await this.release(sub.id, { nextAttemptAt: later(clock.due, 1), onlyLater: true });
          return 'skipped';
        }
        return this.charge(sub, charging, clock);
      }
      case 'retry_scheduled': {
        // the gateway's own retry did not report back within the grace period: our dunning takes over
        const decision = decideDecline(
          attempt.decline ?? makeDecline('PAY_DEC'),
          this.dunningState(sub, attempt, clock.now()),
          this.policy,
          {
            ...(attempt.externalPaymentId ? { externalPaymentId: attempt.externalPaymentId } : {}),
            ...(sub.checkoutUrl
              ? { checkout: { url: sub.checkoutUrl, expiresAt: sub.checkoutExpiresAt } }
              : {}),
          },
        );
        return this.apply(
          sub.id,
          attempt.id,
          attempt.idempotencyKey,
          ['retry_scheduled'],
          decision,
          clock.now(),
        );
      }
      case 'captured':
      case 'partially_refunded':
      case 'refunded':
      case 'charged_back':
        // paid, but the schedule did not move (it always moves in the same transaction): repair it
        this.logger.warn(
          `subscription ${sub.id}: period ${attempt.periodIndex} is paid; moving the schedule on`,
        );
        await this.db.transaction(async (manager) => {
          const locked = await this.subscriptions.lock(manager, sub.id);
          if (locked && locked.periodIndex === attempt.periodIndex) {
            await this.advance(manager, locked, attempt, clock.now());
          } else if (locked) {
            await this.releaseIn(manager, locked);
          }
        });
        return 'skipped';
      case 'action_required':
      case 'failed':
        // waiting for the customer or an operator: nothing to do on our schedule
        await this.release(sub.id, { nextAttemptAt: null });
        return 'skipped';
    }
  }

  /** The period's attempt: inserted on first sight, or the existing one (and its key) on conflict. */
  private async ensureAttempt(
    sub: ConnectorSubscriptionEntity,
    clock: PassClock,
  ): Promise<RebillAttemptEntity> {
    const interval = parseInterval(sub.billingInterval);
    const id = randomUUID();
    const key = attemptKey(id, 1);
    const now = clock.now();
    const inserted = returnedRows(
      await this.db.query(
        `INSERT INTO rebill_attempts (id, subscription_id, period_index, period_start, period_end, gateway, amount_minor,
           currency, status, try_number, idempotency_key, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'charging', 1, $9, $10, $10)
         ON CONFLICT (subscription_id, period_start) DO NOTHING RETURNING id`,
        [
          id,
          sub.id,
          sub.periodIndex,
          sub.nextBillingAt,
          periodStart(sub.billingAnchor, interval, sub.periodIndex + 1),
          sub.gateway,
          sub.amountMinor,
          sub.currency,
          key,
          now,
        ],
      ),
    );
    if (inserted.length > 0) {
      return Object.assign(new RebillAttemptEntity(), {
        id,
        subscriptionId: sub.id,
        periodIndex: sub.periodIndex,
        periodStart: sub.nextBillingAt,
        periodEnd: periodStart(sub.billingAnchor, interval, sub.periodIndex + 1),
        gateway: sub.gateway,
        amountMinor: sub.amountMinor,
        currency: sub.currency,
        status: 'charging' as const,
        tryNumber: 1,
        idempotencyKey: key,
        externalPaymentId: null,
        decline: null,
        retryScheduled: false,
        technicalFailures: 0,
        tries: [],
        refundedMinor: 0,
        adjustments: [],
        lastError: null,
        capturedAt: null,
        createdAt: now,
        updatedAt: now,
      });
    }
    return this.db
      .getRepository(RebillAttemptEntity)
      .findOneByOrFail({ subscriptionId: sub.id, periodStart: sub.nextBillingAt });
  }

  private currentAttempt(sub: ConnectorSubscriptionEntity): Promise<RebillAttemptEntity | null> {
    return this.db
      .getRepository(RebillAttemptEntity)
      .findOneBy({ subscriptionId: sub.id, periodStart: sub.nextBillingAt });
  }

  /** Puts the attempt in `charging` under try `tryNumber` before the call (committed: a crash finds it so). */
  private async markCharging(
    attempt: RebillAttemptEntity,
    tryNumber: number,
  ): Promise<RebillAttemptEntity | undefined> {
    if (attempt.status === 'charging' && attempt.tryNumber === tryNumber) {
      return attempt;
    }
    const newTry = tryNumber !== attempt.tryNumber;
    const changes: AttemptChanges = {
      status: attemptTransition(attempt.status, 'charging'),
      tryNumber,
      idempotencyKey: attemptKey(attempt.id, tryNumber),
      ...(newTry ? { technicalFailures: 0, retryScheduled: false } : {}),
    };
    const rows = returnedRows(
      await this.db.query(
        `UPDATE rebill_attempts SET status = $3, try_number = $4, idempotency_key = $5,
           technical_failures = CASE WHEN $6 THEN 0 ELSE technical_failures END,
           retry_scheduled = CASE WHEN $6 THEN false ELSE retry_scheduled END, updated_at = now()
         WHERE id = $1 AND status = $2 AND try_number = $7 RETURNING id`,
        [
          attempt.id,
          attempt.status,
          changes.status,
          tryNumber,
          changes.idempotencyKey,
          newTry,
          attempt.tryNumber,
        ],
      ),
    );
    if (rows.length === 0) {
      return undefined; // it moved on since we read it
    }
    return Object.assign(new RebillAttemptEntity(), attempt, changes);
  }

  private async charge(
    sub: ConnectorSubscriptionEntity,
    attempt: RebillAttemptEntity,
    clock: PassClock,
  ): Promise<Outcome> {
    const key = attempt.idempotencyKey;
    let decision: RebillDecision;
    let answer: GatewayCallOutcome<PaymentResult> | undefined;
    try {
      const gateway = this.gateways.get(sub.gateway);
      if (!gateway.rebill) {
        throw new DomainError('GATEWAY_OPERATION_UNSUPPORTED', `gateway ${sub.gateway} cannot rebill`);
      }
      const rebill = gateway.rebill.bind(gateway);
      answer = await callGateway(
        () =>
          rebill({
            idempotencyKey: key,
            reference: attempt.id,
            amount: Money.of(attempt.amountMinor, attempt.currency),
            customer: { reference: sub.customerId },
            ...(sub.externalSubscriptionId ? { externalSubscriptionId: sub.externalSubscriptionId } : {}),
            ...(sub.productId ? { productId: sub.productId } : {}),
            quantity: sub.quantity,
            extraParameters: sub.xParameters,
            periodStart: attempt.periodStart,
          }),
        { gateway: gateway.id, operation: 'rebill' },
      );
      decision = decideRebill(answer, this.dunningState(sub, attempt, clock.now()), this.policy);
    } catch (err) {
      if (!(err instanceof DomainError)) {
        throw err;
      }
      // refused before anything was sent (e.g. the mapper's validation): an operator must fix the data
      decision = { kind: 'invalid', error: err.message };
    }
    await this.hooks.afterGatewayCall?.({
      subscriptionId: sub.id,
      attemptId: attempt.id,
      idempotencyKey: key,
    });
    return this.apply(sub.id, attempt.id, key, ['charging'], decision, clock.now(), answer);
  }

  private dunningState(sub: ConnectorSubscriptionEntity, attempt: RebillAttemptEntity, now: Date) {
    return {
      now,
      dunningStep: sub.dunningStep,
      dunningStartedAt: sub.dunningStartedAt,
      technicalFailures: attempt.technicalFailures,
    };
  }

  /** Clears our lease and sets the next look (`onlyLater`: never earlier than it is) without touching anything else. */
  private async release(
    id: string,
    changes: { nextAttemptAt: Date | null; onlyLater?: boolean },
  ): Promise<void> {
    await this.db.query(
      `UPDATE connector_subscriptions
       SET next_attempt_at = CASE WHEN NOT $4 THEN $2
                                  WHEN next_attempt_at IS NULL THEN NULL
                                  ELSE GREATEST(next_attempt_at, $2) END,
           lease_owner = NULL, lease_until = NULL
       WHERE id = $1 AND lease_owner = $3`,
      [id, changes.nextAttemptAt, this.instanceId, changes.onlyLater === true],
    );
  }

  /**
   * Writes a decision in one transaction with the Cleeng report, after locking the subscription then the
   * attempt (the order every writer uses). If the attempt moved on meanwhile (a notification settled it, or
   * another instance whose lease ours replaced wrote the same answer first), nothing is written twice.
   */
  private async apply(
    subscriptionId: string,
    attemptId: string,
    expectedKey: string,
    expectedStatuses: readonly RebillAttemptStatus[],
    decision: RebillDecision,
    now: Date,
    answer?: GatewayCallOutcome<PaymentResult>,
  ): Promise<Outcome> {
    const outcome = await this.db.transaction(async (manager): Promise<Outcome> => {
      const sub = await this.subscriptions.lock(manager, subscriptionId);
      const attempt = await this.lockAttempt(manager, attemptId);
      if (!sub || !attempt) {
        throw new Error(`subscription ${subscriptionId} or attempt ${attemptId} vanished`);
      }
      if (attempt.idempotencyKey !== expectedKey || !expectedStatuses.includes(attempt.status)) {
        await this.releaseIn(manager, sub);
        return 'skipped';
      }
      const tried = answer ? this.tryRecord(attempt, decision, answer, now) : undefined;
      return this.write(manager, sub, attempt, decision, now, tried);
    });
    return outcome;
  }

  private async releaseIn(manager: EntityManager, sub: ConnectorSubscriptionEntity): Promise<void> {
    if (sub.leaseOwner === this.instanceId) {
      await manager.update(
        ConnectorSubscriptionEntity,
        { id: sub.id },
        { leaseOwner: null, leaseUntil: null },
      );
    }
  }

  private tryRecord(
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

  private async write(
    manager: EntityManager,
    sub: ConnectorSubscriptionEntity,
    attempt: RebillAttemptEntity,
    decision: RebillDecision,
    now: Date,
    tried: RebillTry | undefined,
  ): Promise<Outcome> {
    const tries = tried ? [...attempt.tries, tried].slice(-MAX_TRIES_KEPT) : attempt.tries;
    const cancelled = sub.status === 'cancelled';
    const release = { leaseOwner: null, leaseUntil: null };
    const subStatus = (to: SubscriptionStatus): SubscriptionStatus =>
      cancelled ? 'cancelled' : subscriptionTransition(sub.status, to);
    switch (decision.kind) {
      case 'captured':
        await this.writeCaptured(manager, sub, attempt, decision.externalPaymentId ?? null, now, tries);
        return 'captured';
      case 'pending':
        await this.updateAttempt(manager, attempt, 'pending', {
          externalPaymentId: decision.externalPaymentId ?? attempt.externalPaymentId,
          tries,
        });
        await this.updateSub(manager, sub, { ...release, nextAttemptAt: decision.recheckAt });
        return 'pending';
      case 'retry_same_key':
        await this.updateAttempt(manager, attempt, decision.unknown ? 'unknown' : 'charging', {
          technicalFailures: attempt.technicalFailures + 1,
          lastError: decision.error.slice(0, 500),
          tries,
        });
        await this.updateSub(manager, sub, {
          ...release,
          nextAttemptAt: decision.retryAt,
          lastError: decision.error.slice(0, 500),
        });
        return 'retryLater';
      case 'retry_scheduled':
        await this.updateAttempt(manager, attempt, 'retry_scheduled', {
          decline: decision.decline,
          retryScheduled: true,
          externalPaymentId: decision.externalPaymentId ?? attempt.externalPaymentId,
          tries,
        });
        await this.updateSub(manager, sub, {
          ...release,
          status: subStatus('past_due'),
          nextAttemptAt: decision.graceUntil,
          lastDecline: decision.decline,
          ...this.checkoutColumns(decision.checkout),
        });
        return 'retryScheduled';
      case 'soft_decline':
        await this.updateAttempt(manager, attempt, cancelled ? 'failed' : 'declined', {
          decline: decision.decline,
          retryScheduled: false,
          externalPaymentId: decision.externalPaymentId ?? attempt.externalPaymentId,
          tries,
        });
        await this.updateSub(manager, sub, {
          ...release,
          status: subStatus('past_due'),
          nextAttemptAt: cancelled ? null : decision.nextTryAt,
          dunningStep: decision.dunningStep,
          dunningStartedAt: decision.dunningStartedAt,
          lastDecline: decision.decline,
          ...this.checkoutColumns(decision.checkout),
        });
        await this.report(manager, sub, attempt, 'rejected', decision.externalPaymentId, decision.decline);
        return 'declined';
      case 'dunning_exhausted':
        await this.updateAttempt(manager, attempt, 'failed', {
          decline: decision.decline,
          retryScheduled: false,
          externalPaymentId: decision.externalPaymentId ?? attempt.externalPaymentId,
          tries,
        });
        await this.updateSub(manager, sub, {
          ...release,
          status: subStatus('cancelled'),
          nextAttemptAt: null,
          lastDecline: decision.decline,
          checkoutUrl: null,
          checkoutExpiresAt: null,
          ...(cancelled ? {} : { cancelledAt: now, cancelReason: 'dunning_exhausted' }),
        });
        await this.report(manager, sub, attempt, 'rejected', decision.externalPaymentId, decision.decline);
        this.logger.warn(
          `subscription ${sub.id}: cancelled after the last dunning retry (${decision.decline.code})`,
        );
        return 'cancelled';
      case 'hard_decline':
        await this.updateAttempt(manager, attempt, decision.checkout ? 'action_required' : 'failed', {
          decline: decision.decline,
          retryScheduled: false,
          externalPaymentId: decision.externalPaymentId ?? attempt.externalPaymentId,
          tries,
        });
        await this.updateSub(manager, sub, {
          ...release,
          status: subStatus('action_required'),
          nextAttemptAt: null,
          lastDecline: decision.decline,
          ...this.checkoutColumns(decision.checkout),
        });
        await this.report(manager, sub, attempt, 'rejected', decision.externalPaymentId, decision.decline);
        return 'actionRequired';
      case 'invalid': {
        const decline = makeDecline('GW_ERROR', {
          ...(decision.gatewayCode ? { code: decision.gatewayCode } : {}),
          reason: decision.error,
        });
        await this.updateAttempt(manager, attempt, 'failed', {
          decline,
          lastError: decision.error.slice(0, 500),
          tries,
        });
        await this.updateSub(manager, sub, {
          ...release,
          status: subStatus('suspended'),
          nextAttemptAt: null,
          lastError: decision.error.slice(0, 500),
        });
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
    await this.updateAttempt(manager, attempt, 'captured', {
      externalPaymentId: externalPaymentId ?? attempt.externalPaymentId,
      capturedAt: now,
      decline: null,
      retryScheduled: false,
      lastError: null,
      tries,
    });
    await this.advance(manager, sub, attempt, now);
    const paidId = externalPaymentId ?? attempt.externalPaymentId ?? attempt.idempotencyKey;
    await this.report(manager, sub, attempt, 'captured', paidId);
  }

  /** Moves the schedule past the attempt's period (if it is the current one) and ends dunning. */
  private async advance(
    manager: EntityManager,
    sub: ConnectorSubscriptionEntity,
    attempt: RebillAttemptEntity,
    now: Date,
  ): Promise<void> {
    const cancelled = sub.status === 'cancelled';
    const advance = sub.periodIndex === attempt.periodIndex;
    const nextIndex = advance ? sub.periodIndex + 1 : sub.periodIndex;
    const nextBillingAt = advance
      ? periodStart(sub.billingAnchor, parseInterval(sub.billingInterval), nextIndex)
      : sub.nextBillingAt;
    await this.updateSub(manager, sub, {
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
    });
  }

  /** Externally managed payment report to Cleeng, only for subscriptions linked to a Cleeng subscription. */
  private async report(
    manager: EntityManager,
    sub: ConnectorSubscriptionEntity,
    attempt: RebillAttemptEntity,
    status: 'captured' | 'rejected',
    externalPaymentId: string | undefined,
    decline?: Decline,
  ): Promise<void> {
    const paymentMethodId = this.config.cleeng.paymentMethods.get(sub.gateway);
    if (!sub.cleengSubscriptionId || !sub.offerId || paymentMethodId === undefined) {
      return;
    }
    await this.outbox.enqueue(
      manager,
      emsPaymentReport({
        subscriptionId: sub.id,
        customerId: sub.customerId,
        offerId: sub.offerId,
        cleengSubscriptionId: sub.cleengSubscriptionId,
        paymentMethodId,
        amount: Money.of(attempt.amountMinor, attempt.currency),
        attemptId: attempt.id,
        tryNumber: attempt.tryNumber,
        status,
        externalPaymentId: externalPaymentId ?? attempt.externalPaymentId ?? attempt.idempotencyKey,
        ...(decline ? { decline } : {}),
      }),
    );
  }

  private checkoutColumns(checkout: Checkout | undefined): SubscriptionChanges {
    return checkout
      ? { checkoutUrl: checkout.url, checkoutExpiresAt: checkout.expiresAt }
      : { checkoutUrl: null, checkoutExpiresAt: null };
  }

  async lockAttempt(manager: EntityManager, id: string): Promise<RebillAttemptEntity | null> {
    return lockById(manager, RebillAttemptEntity, id);
  }

  async updateAttempt(
    manager: EntityManager,
    attempt: RebillAttemptEntity,
    to: RebillAttemptStatus,
    changes: AttemptChanges,
  ): Promise<void> {
    const status = attemptTransition(attempt.status, to);
    await manager.update(RebillAttemptEntity, { id: attempt.id }, { ...changes, status });
    Object.assign(attempt, changes, { status });
  }

  private async updateSub(
    manager: EntityManager,
    sub: ConnectorSubscriptionEntity,
    changes: SubscriptionChanges,
  ): Promise<void> {
    await manager.update(ConnectorSubscriptionEntity, { id: sub.id }, changes);
    Object.assign(sub, changes);
  }
}
