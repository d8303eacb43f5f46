import { decline as makeDecline, Decline } from '../gateways/decline-codes';
import { GatewayCallOutcome } from '../gateways/gateway-call';
import { PaymentResult } from '../gateways/gateway.provider';

/** REBILL_* / DUNNING_SCHEDULE as the decisions need them (all in ms). */
export interface DunningPolicy {
  /** offsets of the retries from the period's first failed try (DUNNING_SCHEDULE) */
  scheduleMs: readonly number[];
  /** how long to wait for the gateway's own retry (IsPaymentRetryScheduled) before ours (REBILL_RETRY_GRACE) */
  retryGraceMs: number;
  /** technical failures and unknown outcomes: same key again after base × 2^(n-1), capped */
  technicalBaseMs: number;
  technicalMaxMs: number;
}

/** Where the period stands before this answer. */
export interface DunningState {
  now: Date;
  /** soft declines already counted in this period */
  dunningStep: number;
  /** the period's first failed try */
  dunningStartedAt: Date | null;
  /** technical failures / unknown outcomes in a row under the current key */
  technicalFailures: number;
}

export interface Checkout {
  url: string;
  expiresAt: Date | null;
}

/**
 * What to do after one rebill answer. Only `soft_decline` leads to a new try (and so a new idempotency key):
 * every other non-final decision repeats the SAME key, because the gateway may already have acted.
 */
export type RebillDecision =
  | { kind: 'captured'; externalPaymentId?: string }
  /** accepted, money not there yet (offline payment): look again later under the same key */
  | { kind: 'pending'; externalPaymentId?: string; recheckAt: Date }
  /** no usable answer (timeout, 5xx, connection refused, technical decline): same key at `retryAt` */
  | { kind: 'retry_same_key'; unknown: boolean; retryAt: Date; error: string }
  /** declined, but the gateway retries by itself: wait for its notification until `graceUntil` */
  | {
      kind: 'retry_scheduled';
      decline: Decline;
      graceUntil: Date;
      externalPaymentId?: string;
      checkout?: Checkout;
    }
  | {
      kind: 'soft_decline';
      decline: Decline;
      nextTryAt: Date;
      dunningStep: number;
      dunningStartedAt: Date;
      externalPaymentId?: string;
      checkout?: Checkout;
    }
  | { kind: 'dunning_exhausted'; decline: Decline; externalPaymentId?: string }
  | { kind: 'hard_decline'; decline: Decline; externalPaymentId?: string; checkout?: Checkout }
  /** the gateway refused the request itself (our data is wrong): an operator must look */
  | { kind: 'invalid'; error: string; gatewayCode?: string };

/** base × 2^(n-1), capped; n = failures so far including this one. Deterministic: rows spread by due time. */
export function technicalRetryDelay(failures: number, policy: DunningPolicy): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 20);
  return Math.min(policy.technicalMaxMs, policy.technicalBaseMs * 2 ** exponent);
}

const later = (now: Date, ms: number): Date => new Date(now.getTime() + ms);

function checkoutOf(result: PaymentResult): Checkout | undefined {
  const url = result.action?.url;
  return url ? { url, expiresAt: result.actionExpiresAt ?? null } : undefined;
}

/**
 * A definitive decline -> dunning by class: hard stops (the customer must act), soft follows the schedule
 * and cancels after its last offset, technical repeats the same key with backoff.
 */
export function decideDecline(
  decline: Decline,
  state: DunningState,
  policy: DunningPolicy,
  extra: { externalPaymentId?: string; checkout?: Checkout } = {},
): RebillDecision {
  const id = extra.externalPaymentId ? { externalPaymentId: extra.externalPaymentId } : {};
  switch (decline.class) {
    case 'hard':
      return {
        kind: 'hard_decline',
        decline,
        ...id,
        ...(extra.checkout ? { checkout: extra.checkout } : {}),
      };
    case 'technical': {
      const failures = state.technicalFailures + 1;
      return {
        kind: 'retry_same_key',
        unknown: false,
        retryAt: later(state.now, technicalRetryDelay(failures, policy)),
        error: `${decline.code}: ${decline.rawReason ?? decline.reason}`,
      };
    }
    case 'soft': {
      const step = state.dunningStep + 1;
      const offset = policy.scheduleMs[step - 1];
      if (offset === undefined) {
        return { kind: 'dunning_exhausted', decline, ...id };
      }
      const startedAt = state.dunningStartedAt ?? state.now;
      // never in the past and never "now": one try per subscription per pass
      const nextTryAt = new Date(Math.max(startedAt.getTime() + offset, state.now.getTime() + 1));
      return {
        kind: 'soft_decline',
        decline,
        nextTryAt,
        dunningStep: step,
        dunningStartedAt: startedAt,
        ...id,
        ...(extra.checkout ? { checkout: extra.checkout } : {}),
      };
    }
  }
}

/** One rebill call's outcome -> what happens to the attempt and the subscription. */
export function decideRebill(
  outcome: GatewayCallOutcome<PaymentResult>,
  state: DunningState,
  policy: DunningPolicy,
): RebillDecision {
  switch (outcome.kind) {
    case 'unknown': {
      const failures = state.technicalFailures + 1;
      return {
        kind: 'retry_same_key',
        unknown: true,
        retryAt: later(state.now, technicalRetryDelay(failures, policy)),
        error: outcome.error,
      };
    }
    case 'not_processed':
      return decideDecline(outcome.decline, state, policy);
    case 'invalid':
      return {
        kind: 'invalid',
        error: outcome.error.message,
        ...(outcome.error.gatewayCode ? { gatewayCode: outcome.error.gatewayCode } : {}),
      };
    case 'ok':
      return decideResult(outcome.value, state, policy);
  }
}

function decideResult(result: PaymentResult, state: DunningState, policy: DunningPolicy): RebillDecision {
  const id = result.externalPaymentId ? { externalPaymentId: result.externalPaymentId } : {};
  const checkout = checkoutOf(result);
  switch (result.status) {
    // a rebill is one step: a gateway answering `authorised` has charged as far as it ever will
    case 'captured':
    case 'authorised':
      return { kind: 'captured', ...id };
    case 'pending':
      return { kind: 'pending', ...id, recheckAt: later(state.now, policy.retryGraceMs) };
    case 'rejected':
    case 'action_required': {
      const decline =
        result.decline ??
        makeDecline('PAY_DEC', { code: result.status === 'action_required' ? 'ActionRequired' : 'Declined' });
      if (result.retryScheduled) {
        return {
          kind: 'retry_scheduled',
          decline,
          graceUntil: later(state.now, policy.retryGraceMs),
          ...id,
          ...(checkout ? { checkout } : {}),
        };
      }
      // Cleverbridge CustomerActionNeeded (mapped to PAY_DEC when it carries no payment error): payment data is
      // missing or invalid, which no retry fixes; the customer must act whatever the decline class
      if (result.status === 'action_required' || decline.rawCode === 'CustomerActionNeeded') {
        return { kind: 'hard_decline', decline, ...id, ...(checkout ? { checkout } : {}) };
      }
      return decideDecline(decline, state, policy, { ...id, ...(checkout ? { checkout } : {}) });
    }
  }
}
