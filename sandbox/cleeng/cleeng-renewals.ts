import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Clock } from '../clock/clock';
import { SandboxClockService } from '../clock/sandbox-clock.service';
import { CleengSandboxStore, DunningSettings, RenewalAttempt, RenewalState } from './cleeng-sandbox.store';
import { PaymentRecord, PaymentStatus, SubscriptionRecord } from './cleeng-sandbox.types';
import { CleengWebhookEmitter } from './cleeng-webhook.emitter';
import { authorisationData, captureData, RenewalContext, terminationData } from './cleeng-webhook.payloads';

const HOUR_MS = 60 * 60 * 1000;
/** The last attempt counts as failed when the connector has not answered it within this long. */
export const LAST_ATTEMPT_ANSWER_WINDOW_MS = 24 * HOUR_MS;

type AttemptTopic = RenewalAttempt['topic'];

/** What the emulator does next for one subscription: at most one webhook per evaluation. */
export type RenewalAction =
  | { kind: 'none' }
  | { kind: 'attempt'; index: number; scheduledAt: Date; topic: AttemptTopic }
  | { kind: 'capture'; attemptIndex: number; paymentId: number }
  | { kind: 'terminate' };

export interface RenewalFacts {
  subscription: Pick<SubscriptionRecord, 'status' | 'expiresAt'>;
  /** progress so far; ignored when it belongs to another period (dueAt != expiresAt) */
  state: RenewalState | undefined;
  /** the subscription's recurring payments as the connector reported them */
  payments: readonly Pick<PaymentRecord, 'id' | 'status' | 'createdAt'>[];
  settings: DunningSettings;
  now: Date;
}

const SETTLED: readonly PaymentStatus[] = ['captured', 'refunded'];
const FAILED: readonly PaymentStatus[] = ['rejected', 'cancelled'];

/**
 * Cleeng-managed dunning as a pure function. A subscription is due when its paid period ends (expiresAt <= now).
 * Attempt 0 fires at the due date, retry i at due date + paymentAttempts[i-1] hours. Each attempt is one
 * webhook: capture-only sends subscriptionReadyForPaymentCapture; authorise-first sends
 * subscriptionReadyForPaymentAuthorisation, then subscriptionReadyForPaymentCapture with the paymentId once the
 * connector reports that payment `authorized`.
 *
 * An attempt fails when the connector reports its payment rejected/cancelled; an unanswered attempt counts as
 * failed when the next one's time has passed (measured from when the attempt actually fired, so a big clock jump
 * does not fire every retry at once). A captured payment extends the subscription (the store does that), which
 * ends dunning for that period. After the last attempt fails (or stays unanswered for 24 h), and not before
 * due date + gracePeriodHours, subscriptionReadyForTermination fires once. An authorised payment waiting for
 * capture holds everything back.
 */
export function decideRenewal(facts: RenewalFacts): RenewalAction {
  const { subscription, settings, now } = facts;
  if (subscription.status !== 'active' || subscription.expiresAt.getTime() > now.getTime()) {
    return { kind: 'none' };
  }
  const dueAt = subscription.expiresAt;
  const offsets = [0, ...settings.paymentAttempts];
  const topic: AttemptTopic = settings.authoriseFirst
    ? 'subscriptionReadyForPaymentAuthorisation'
    : 'subscriptionReadyForPaymentCapture';
  const state = facts.state?.dueAt.getTime() === dueAt.getTime() ? facts.state : undefined;
  const last = state?.attempts.at(-1);
  if (!state || !last) {
    return { kind: 'attempt', index: 0, scheduledAt: dueAt, topic };
  }
  if (state.terminationFiredAt) {
    return { kind: 'none' };
  }

  // payments made since the last attempt fired answer that attempt
  const answers = facts.payments.filter((p) => p.createdAt.getTime() >= last.firedAt.getTime());
  if (answers.some((p) => SETTLED.includes(p.status))) {
    return { kind: 'none' };
  }
  const authorised = answers.find((p) => p.status === 'authorized');
  if (authorised) {
    return last.captureFiredFor === authorised.id
      ? { kind: 'none' }
      : { kind: 'capture', attemptIndex: last.index, paymentId: authorised.id };
  }
  const failed = answers.some((p) => FAILED.includes(p.status));

  const nextIndex = last.index + 1;
  const nextOffset = offsets[nextIndex];
  if (nextOffset !== undefined) {
    const scheduledAt = new Date(dueAt.getTime() + nextOffset * HOUR_MS);
    const gapMs = (nextOffset - (offsets[last.index] ?? 0)) * HOUR_MS;
    const timeHasCome = now.getTime() >= scheduledAt.getTime();
    const lastIsOver = failed || now.getTime() >= last.firedAt.getTime() + gapMs;
    return timeHasCome && lastIsOver
      ? { kind: 'attempt', index: nextIndex, scheduledAt, topic }
      : { kind: 'none' };
  }
  const graceOver = now.getTime() >= dueAt.getTime() + settings.gracePeriodHours * HOUR_MS;
  const lastIsOver = failed || now.getTime() >= last.firedAt.getTime() + LAST_ATTEMPT_ANSWER_WINDOW_MS;
  return graceOver && lastIsOver ? { kind: 'terminate' } : { kind: 'none' };
}

export interface RenewalFired {
  subscriptionId: number;
  topic: AttemptTopic | 'subscriptionReadyForTermination';
  attempt?: number;
  paymentId?: number;
}

/**
 * Runs decideRenewal against the store: on every sandbox clock advance (all due subscriptions), and whenever the
 * connector reports a recurring payment (that subscription only), so an authorisation is followed by its capture
 * webhook and a catch-up after a big clock jump continues as the connector answers.
 */
@Injectable()
export class CleengRenewalScheduler implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(CleengRenewalScheduler.name);
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly store: CleengSandboxStore,
    private readonly emitter: CleengWebhookEmitter,
    private readonly clockService: SandboxClockService,
    private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    this.unsubscribe.push(
      this.clockService.onAdvance((now) => {
        this.runDue(now);
        return Promise.resolve();
      }, 'cleeng-renewals'),
      this.store.onPaymentChange((payment) => {
        if (payment.paymentOperation === 'recurring-payment' && payment.subscriptionId !== null) {
          this.evaluate(payment.subscriptionId, this.clock.now());
        }
      }),
    );
  }

  onModuleDestroy(): void {
    for (const off of this.unsubscribe.splice(0)) {
      off();
    }
  }

  /** Every due subscription gets at most one webhook for `now`. */
  runDue(now: Date = this.clock.now()): RenewalFired[] {
    const fired: RenewalFired[] = [];
    for (const subscription of this.store.subscriptionsDue(now)) {
      const one = this.evaluate(subscription.subscriptionId, now);
      if (one) {
        fired.push(one);
      }
    }
    return fired;
  }

  /** Decides and fires (at most one webhook) for one subscription. */
  evaluate(subscriptionId: number, now: Date): RenewalFired | undefined {
    const subscription = this.store.findSubscription(subscriptionId);
    if (!subscription) {
      return undefined;
    }
    const state = this.store.renewalState(subscriptionId);
    const action = decideRenewal({
      subscription,
      state,
      payments: this.store.recurringPaymentsOf(subscriptionId),
      settings: this.store.dunningSettings(),
      now,
    });
    switch (action.kind) {
      case 'none':
        return undefined;
      case 'attempt': {
        const current: RenewalState =
          action.index === 0 || !state
            ? { subscriptionId, dueAt: new Date(subscription.expiresAt), attempts: [] }
            : state;
        current.attempts.push({
          index: action.index,
          scheduledAt: action.scheduledAt,
          firedAt: new Date(now),
          topic: action.topic,
        });
        this.store.saveRenewalState(current);
        const ctx = this.context(subscription, action.scheduledAt);
        if (action.topic === 'subscriptionReadyForPaymentAuthorisation') {
          this.emitter.emit(action.topic, authorisationData(ctx));
        } else {
          this.emitter.emit(action.topic, captureData(ctx));
        }
        this.logger.log(`subscription ${subscriptionId}: attempt ${action.index} -> ${action.topic}`);
        return { subscriptionId, topic: action.topic, attempt: action.index };
      }
      case 'capture': {
        const attempt = state?.attempts.at(-1);
        if (!state || !attempt) {
          return undefined;
        }
        attempt.captureFiredFor = action.paymentId;
        this.store.saveRenewalState(state);
        this.emitter.emit(
          'subscriptionReadyForPaymentCapture',
          captureData(this.context(subscription, attempt.scheduledAt), action.paymentId),
        );
        this.logger.log(`subscription ${subscriptionId}: capture of authorised payment ${action.paymentId}`);
        return {
          subscriptionId,
          topic: 'subscriptionReadyForPaymentCapture',
          attempt: action.attemptIndex,
          paymentId: action.paymentId,
        };
      }
      case 'terminate': {
        if (!state) {
          return undefined;
        }
        state.terminationFiredAt = new Date(now);
        this.store.saveRenewalState(state);
        this.emitter.emit('subscriptionReadyForTermination', terminationData(subscription));
        this.logger.log(`subscription ${subscriptionId}: dunning exhausted -> termination`);
        return { subscriptionId, topic: 'subscriptionReadyForTermination' };
      }
    }
  }

  private context(subscription: SubscriptionRecord, attemptDate: Date): RenewalContext {
    const paymentDetails =
      subscription.paymentDetailsId === null
        ? undefined
        : this.store.findPaymentDetails(subscription.paymentDetailsId);
    return { subscription, paymentDetails, attemptDate };
  }
}
