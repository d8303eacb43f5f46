import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { DrainsOnShutdown } from '../common/lifecycle/shutdown-coordinator';
import { DomainError } from '../common/errors/domain-error';
import { Money } from '../common/money/money';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { decline as makeDecline } from '../gateways/decline-codes';
import { callGateway, GatewayCallOutcome } from '../gateways/gateway-call';
import { GatewayProvider, PaymentResult } from '../gateways/gateway.provider';
import { GatewayRegistry } from '../gateways/gateway.registry';
import { isIdempotent, requireOperation } from '../gateways/gateway-operations';
import { OutboxService } from '../outbox/outbox.service';
import { PaymentDetailsService } from '../payment-details/payment-details.service';
import { ConnectorSubscriptionEntity } from '../subscriptions/subscription.entity';
import { decideDecline, decideRebill, DunningPolicy, DunningState, RebillDecision } from './dunning';
import { RebillAttemptEntity } from './rebill-attempt.entity';
import { isBillable, PeriodAttempt, RebillAttempts } from './rebill-attempts';
import { Claimed, later, PassClock, RebillClaims } from './rebill-claims';
import { RebillFaultPoints } from './rebill-fault-points';
import { DecidedAttempt, RebillOutcome, RebillOutcomeWriter } from './rebill-outcome.writer';

export type { Claimed, PassClock } from './rebill-claims';

/** unknown outcomes / technical failures: same key again after 1 min, 2, 4, ... at most 1 h */
const TECHNICAL_BASE_MS = 60_000;
const TECHNICAL_MAX_MS = 3_600_000;
/** an unexpected error while handling one subscription: look again after this */
const ERROR_RETRY_MS = 60_000;

/** A claimed subscription waiting for a lane: its period attempt made with the batch, or seen before in this pass. */
type Queued =
  { claimed: Claimed; again: false; attempt: PeriodAttempt | undefined } | { claimed: Claimed; again: true };

/** One pass: how many subscriptions ended how (RebillOutcome), and the pass itself. */
export interface RebillRunSummary extends Record<RebillOutcome, number> {
  /** subscriptions claimed (due and not leased by another instance) */
  claimed: number;
  batches: number;
  ms: number;
}

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

/**
 * Connector-managed rebilling (billing mode 3). `runDue(now)` claims due subscriptions in batches
 * (RebillClaims: `FOR UPDATE SKIP LOCKED` + a lease owned by this instance), charges them with bounded
 * concurrency and applies dunning (RebillOutcomeWriter).
 *
 * Charged once per period, whatever fails: the attempt row is unique per (subscription, period) and is written
 * (state `charging`, with its key) BEFORE the gateway call; a crash after the call leaves it `charging`, and the
 * next run repeats the call with the SAME key, which the gateway answers from its first result. A new key is
 * only ever made after a definitive decline (the next dunning try).
 *
 * A gateway without an idempotency key for `rebill` (Cleverbridge ProcessCart) is never sent a key twice once
 * it may have arrived: an attempt found `charging` or `unknown` is resolved by the gateway's lookup (or its
 * notification), and only a definite "no purchase" sends it again; `pending` (an offline payment) is waited for.
 */
@Injectable()
export class RebillingService implements OnApplicationShutdown, DrainsOnShutdown {
  private readonly logger = new Logger(RebillingService.name);
  private readonly policy: DunningPolicy;
  private queued: { due: Date; result: Promise<RebillRunSummary> } | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly gateways: GatewayRegistry,
    private readonly outbox: OutboxService,
    private readonly claims: RebillClaims,
    private readonly attempts: RebillAttempts,
    private readonly outcomes: RebillOutcomeWriter,
    private readonly faults: RebillFaultPoints,
    private readonly paymentDetails: PaymentDetailsService,
  ) {
    this.policy = {
      scheduleMs: config.rebill.dunningScheduleMs,
      retryGraceMs: config.rebill.retryGraceMs,
      technicalBaseMs: TECHNICAL_BASE_MS,
      technicalMaxMs: TECHNICAL_MAX_MS,
    };
  }

  /**
   * Shutdown: no new batch, no new subscription from the batch in hand (released at once, see pass()); resolves
   * when the charges in flight are written. The passes queued behind return without claiming.
   */
  async drainForShutdown(): Promise<void> {
    this.stopped = true;
    await this.tail;
  }

  onApplicationShutdown(): void {
    this.stopped = true;
  }

  /** lease owner id of this process */
  get instanceId(): string {
    return this.claims.instanceId;
  }

  /** One batch of due rows leased to this instance (see RebillClaims). */
  claim(clock: PassClock, limit?: number): Promise<Claimed[]> {
    return this.claims.claim(clock, limit);
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

  /**
   * One pass: REBILL_CONCURRENCY lanes take subscriptions one at a time from a small queue that is refilled (one
   * claim of REBILL_BATCH_SIZE, plus one statement making the batch's period attempts) while the lanes still have
   * work, so a slow charge holds one lane, never a batch, and no lane waits for a whole batch to finish. In memory:
   * at most one batch plus the charges in flight (and the ids seen this pass).
   */
  private async pass(due: Date): Promise<RebillRunSummary> {
    const started = performance.now();
    const clock: PassClock = { due, now: () => new Date(due.getTime() + (performance.now() - started)) };
    const summary = emptySummary();
    const seen = new Set<string>();
    const queue: Queued[] = [];
    let exhausted = false;
    let failure: Error | undefined;
    let refilling: Promise<void> | undefined;
    const refill = async (): Promise<void> => {
      const batch = await this.claims.claim(clock);
      if (batch.length === 0) {
        exhausted = true;
        return;
      }
      summary.batches += 1;
      summary.claimed += batch.length;
      // safety net: a row handled in this pass that is still due waits for the next tick (and gets no attempt now)
      const fresh = batch.filter((c) => !seen.has(c.subscription.id));
      const attempts = await this.attempts.ensureBatch(
        fresh.map((c) => c.subscription),
        clock.now(),
      );
      for (const claimed of batch) {
        const id = claimed.subscription.id;
        const again = seen.has(id);
        seen.add(id);
        queue.push(again ? { claimed, again } : { claimed, again, attempt: attempts.get(id) });
      }
    };
    const startRefill = (): Promise<void> =>
      (refilling ??= refill()
        .catch((err: unknown) => {
          failure ??= err instanceof Error ? err : new Error(String(err));
        })
        .finally(() => {
          refilling = undefined;
        }));
    const lane = async (): Promise<void> => {
      for (;;) {
        if (this.stopped || failure !== undefined) {
          return;
        }
        if (!exhausted && queue.length <= this.config.rebill.concurrency) {
          void startRefill();
        }
        const item = queue.shift();
        if (item === undefined) {
          if (exhausted && refilling === undefined) {
            return;
          }
          await startRefill();
          continue;
        }
        if (item.again) {
          await this.claims.release(item.claimed.subscription.id, {
            nextAttemptAt: later(due, 1),
            onlyLater: true,
          });
          summary.skipped += 1;
          continue;
        }
        summary[await this.processClaimed(item.claimed, clock, item.attempt)] += 1;
      }
    };
    try {
      await Promise.all(Array.from({ length: this.config.rebill.concurrency }, lane));
      await refilling;
      if (queue.length > 0) {
        // shutting down (or a claim failed): what this instance claimed but did not start is anyone's again, now
        await this.claims.releaseUnstarted(
          queue.map((q) => q.claimed.subscription.id),
          queue.flatMap((q) => (!q.again && q.attempt?.created ? [q.attempt.attempt.id] : [])),
        );
        this.logger.log(`released ${queue.length} claimed subscriptions not yet started`);
      }
      if (failure !== undefined) {
        throw failure;
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

  private async processClaimed(
    claimed: Claimed,
    clock: PassClock,
    prepared: PeriodAttempt | undefined,
  ): Promise<RebillOutcome> {
    const sub = claimed.subscription;
    try {
      if (!(await this.claims.keep(claimed, clock))) {
        return 'skipped'; // our lease ran out and another instance has the row now
      }
      return await this.process(sub, clock, prepared, claimed.version);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.logger.error(`rebilling subscription ${sub.id} failed: ${message}`);
      await this.claims
        .releaseAfterError(sub.id, later(clock.now(), ERROR_RETRY_MS), message)
        .catch((releaseErr: unknown) =>
          this.logger.error(`releasing ${sub.id} failed: ${String(releaseErr)}`),
        );
      return 'errors';
    }
  }

  /** What the claimed subscription needs now: a first try, a replay, the next dunning try, or nothing. */
  private async process(
    sub: ConnectorSubscriptionEntity,
    clock: PassClock,
    prepared: PeriodAttempt | undefined,
    subVersion: string,
  ): Promise<RebillOutcome> {
    const billable = isBillable(sub);
    const { attempt, created, version } = prepared ?? (await this.periodAttempt(sub, billable, clock)) ?? {};
    switch (attempt?.status) {
      case 'charging':
      case 'unknown':
      case 'pending': {
        const gateway = this.gateways.get(sub.gateway);
        if (!created && !isIdempotent(gateway, 'rebill')) {
          // it may have reached a gateway that cannot deduplicate it: learn what it did, never send it again
          return this.lookUp(sub, gateway, attempt, clock);
        }
        // in flight, or died in flight: the SAME key again
        const read =
          version === undefined ? undefined : { sub, subVersion, attempt, attemptVersion: version };
        return this.chargeMarked(sub, attempt, attempt.tryNumber, clock, read);
      }
      case 'declined':
        // definitively declined: the next try, under the next key (a cancelled subscription is not retried)
        return billable ? this.chargeMarked(sub, attempt, attempt.tryNumber + 1, clock) : this.idle(sub);
      case 'retry_scheduled':
        // the gateway's own retry did not report back within the grace period: our dunning takes over
        return this.takeOverGatewayRetry(sub, attempt, clock);
      case 'captured':
      case 'partially_refunded':
      case 'refunded':
      case 'charged_back':
        this.logger.warn(
          `subscription ${sub.id}: period ${attempt.periodIndex} is paid; moving the schedule on`,
        );
        await this.outcomes.repairPaidSchedule(sub.id, attempt, clock.now());
        return 'skipped';
      case 'action_required':
      case 'failed':
      case undefined:
        // not billable, or waiting for the customer or an operator: nothing to do on our schedule
        return this.idle(sub);
    }
  }

  /** Billable: the period's attempt (made on first sight). Cancelled: only one already made is finished. */
  private async periodAttempt(
    sub: ConnectorSubscriptionEntity,
    billable: boolean,
    clock: PassClock,
  ): Promise<PeriodAttempt | null> {
    if (billable) {
      return this.attempts.ensure(sub, clock.now());
    }
    const current = sub.status === 'cancelled' ? await this.attempts.current(sub) : null;
    return current ? { attempt: current, created: false } : null;
  }

  /**
   * The attempt's call went to a gateway without an idempotency key and its answer is not known (lost, crashed
   * before the write) or is an offline payment still open: the gateway's lookup decides. Found -> as if it had
   * answered; definitely not found -> nothing was charged, so the same key is sent (the one case that sends);
   * the lookup itself failing -> wait and look again (backoff), never re-send.
   */
  private async lookUp(
    sub: ConnectorSubscriptionEntity,
    gateway: GatewayProvider,
    attempt: RebillAttemptEntity,
    clock: PassClock,
  ): Promise<RebillOutcome> {
    const lookupCall = requireOperation(gateway, 'lookupCall');
    const looked = await callGateway(
      () =>
        lookupCall({
          idempotencyKey: attempt.idempotencyKey,
          sentAfter: attempt.createdAt,
          ...(attempt.externalPaymentId ? { externalPaymentId: attempt.externalPaymentId } : {}),
        }),
      { gateway: gateway.id, operation: 'lookupCall', subject: attempt.id },
    );
    const state = this.dunningState(sub, attempt, clock.now());
    const waitForPayment = (): RebillDecision => ({
      kind: 'pending',
      ...(attempt.externalPaymentId ? { externalPaymentId: attempt.externalPaymentId } : {}),
      recheckAt: later(clock.now(), this.policy.retryGraceMs),
    });
    if (looked.kind !== 'ok') {
      const error =
        looked.kind === 'not_processed'
          ? looked.decline.reason
          : looked.kind === 'invalid'
            ? looked.error.message
            : looked.error;
      this.logger.warn(
        `attempt ${attempt.id}: lookup at ${gateway.id} failed (${error}); looking again later`,
      );
      const decision: RebillDecision =
        attempt.status === 'pending'
          ? waitForPayment()
          : decideRebill({ kind: 'unknown', error: `lookup failed: ${error}` }, state, this.policy);
      return this.outcomes.apply(decided(attempt), decision, clock.now());
    }
    if (looked.value.kind === 'not_found') {
      if (attempt.status === 'pending') {
        // the gateway named the purchase earlier: a search that misses it proves nothing
        this.logger.warn(
          `attempt ${attempt.id}: pending purchase ${attempt.externalPaymentId ?? '?'} not listed`,
        );
        return this.outcomes.apply(decided(attempt), waitForPayment(), clock.now());
      }
      if (sub.status === 'cancelled') {
        this.logger.warn(`attempt ${attempt.id}: nothing was charged and the subscription is cancelled`);
        return this.idle(sub);
      }
      return this.chargeMarked(sub, attempt, attempt.tryNumber, clock);
    }
    const answer: GatewayCallOutcome<PaymentResult> = { kind: 'ok', value: looked.value.result };
    const decision = decideRebill(answer, state, this.policy);
    // an offline payment still open is no new try for the history
    const unchanged = attempt.status === 'pending' && decision.kind === 'pending';
    return this.outcomes.apply(decided(attempt), decision, clock.now(), unchanged ? undefined : answer);
  }

  /** The gateway said it retries by itself (Cleverbridge) but did not report back in time: dunning as declined. */
  private takeOverGatewayRetry(
    sub: ConnectorSubscriptionEntity,
    attempt: RebillAttemptEntity,
    clock: PassClock,
  ): Promise<RebillOutcome> {
    const decision = decideDecline(
      attempt.decline ?? makeDecline('PAY_DEC'),
      this.dunningState(sub, attempt, clock.now()),
      this.policy,
      {
        ...(attempt.externalPaymentId ? { externalPaymentId: attempt.externalPaymentId } : {}),
        ...(sub.checkoutUrl ? { checkout: { url: sub.checkoutUrl, expiresAt: sub.checkoutExpiresAt } } : {}),
      },
    );
    return this.outcomes.apply(decided(attempt), decision, clock.now());
  }

  private async idle(sub: ConnectorSubscriptionEntity): Promise<RebillOutcome> {
    await this.claims.release(sub.id, { nextAttemptAt: null });
    return 'skipped';
  }

  /** Marks the attempt `charging` under `tryNumber` (committed before the call), then charges. */
  private async chargeMarked(
    sub: ConnectorSubscriptionEntity,
    attempt: RebillAttemptEntity,
    tryNumber: number,
    clock: PassClock,
    read?: DecidedAttempt['read'],
  ): Promise<RebillOutcome> {
    const charging = await this.attempts.markCharging(attempt, tryNumber);
    if (!charging) {
      // settled meanwhile (a notification): whoever settled it set the schedule
      await this.claims.release(sub.id, { nextAttemptAt: later(clock.due, 1), onlyLater: true });
      return 'skipped';
    }
    // marking it wrote the attempt: its version as read is gone
    return this.charge(sub, charging, clock, charging === attempt ? read : undefined);
  }

  /** `read`: both rows as read with their versions, when nothing was written to them since (see `decided`). */
  private async charge(
    sub: ConnectorSubscriptionEntity,
    attempt: RebillAttemptEntity,
    clock: PassClock,
    read?: DecidedAttempt['read'],
  ): Promise<RebillOutcome> {
    const key = attempt.idempotencyKey;
    let decision: RebillDecision;
    let answer: GatewayCallOutcome<PaymentResult> | undefined;
    try {
      const gateway = this.gateways.get(sub.gateway);
      if (!gateway.rebill) {
        throw new DomainError('GATEWAY_OPERATION_UNSUPPORTED', `gateway ${sub.gateway} cannot rebill`);
      }
      const rebill = gateway.rebill.bind(gateway);
      // unsealed only for this call; a subscription whose details were removed has nothing to charge
      const stored = sub.paymentDetailsId
        ? await this.paymentDetails.activeToken(sub.paymentDetailsId)
        : undefined;
      if (sub.paymentDetailsId && !stored) {
        throw new DomainError(
          'PAYMENT_DETAILS_NOT_FOUND',
          `payment details ${sub.paymentDetailsId} are no longer active`,
        );
      }
      answer = await callGateway(
        () =>
          rebill({
            idempotencyKey: key,
            reference: attempt.id,
            amount: Money.of(attempt.amountMinor, attempt.currency),
            // a token belongs to the shopper it was stored for
            customer: { reference: stored?.shopperReference ?? sub.customerId },
            ...(sub.externalSubscriptionId ? { externalSubscriptionId: sub.externalSubscriptionId } : {}),
            ...(stored ? { token: stored.token } : {}),
            ...(sub.productId ? { productId: sub.productId } : {}),
            quantity: sub.quantity,
            ...(sub.defaultLanguageId ? { defaultLanguageId: sub.defaultLanguageId } : {}),
            extraParameters: sub.xParameters,
            periodStart: attempt.periodStart,
          }),
        {
          gateway: gateway.id,
          operation: 'rebill',
          idempotent: isIdempotent(gateway, 'rebill'),
          subject: attempt.id,
        },
      );
      decision = decideRebill(answer, this.dunningState(sub, attempt, clock.now()), this.policy);
    } catch (err) {
      if (!(err instanceof DomainError)) {
        throw err;
      }
      // refused before anything was sent (e.g. the mapper's validation): an operator must fix the data
      decision = { kind: 'invalid', error: err.message };
    }
    await this.faults.afterGatewayCall({
      subscriptionId: sub.id,
      attemptId: attempt.id,
      idempotencyKey: key,
    });
    return this.outcomes.apply(decided(attempt, read), decision, clock.now(), answer);
  }

  private dunningState(
    sub: ConnectorSubscriptionEntity,
    attempt: RebillAttemptEntity,
    now: Date,
  ): DunningState {
    return {
      now,
      dunningStep: sub.dunningStep,
      dunningStartedAt: sub.dunningStartedAt,
      technicalFailures: attempt.technicalFailures,
    };
  }
}

/**
 * The decision is about the attempt as read now: written only if it is still in this state under this key. With
 * `read` (both rows and their versions), a captured outcome is written in one statement if neither row changed.
 */
function decided(attempt: RebillAttemptEntity, read?: DecidedAttempt['read']): DecidedAttempt {
  return {
    subscriptionId: attempt.subscriptionId,
    attemptId: attempt.id,
    expectedKey: attempt.idempotencyKey,
    expectedStatuses: [attempt.status],
    ...(read ? { read } : {}),
  };
}
