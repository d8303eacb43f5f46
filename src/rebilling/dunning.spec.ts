import { decline } from '../gateways/decline-codes';
import { GatewayRequestRejectedError } from '../gateways/gateway.errors';
import { decideDecline, decideRebill, DunningPolicy, DunningState, technicalRetryDelay } from './dunning';

const H = 3_600_000;
const D = 24 * H;
const policy: DunningPolicy = {
  scheduleMs: [1 * D, 3 * D, 7 * D],
  retryGraceMs: 2 * H,
  technicalBaseMs: 60_000,
  technicalMaxMs: H,
};
const now = new Date('2026-03-01T00:00:00Z');
const fresh: DunningState = { now, dunningStep: 0, dunningStartedAt: null, technicalFailures: 0 };
const at = (ms: number): Date => new Date(now.getTime() + ms);

describe('decideRebill', () => {
  it('captured (and authorised) advance the period', () => {
    expect(
      decideRebill({ kind: 'ok', value: { status: 'captured', externalPaymentId: 'P1' } }, fresh, policy),
    ).toEqual({ kind: 'captured', externalPaymentId: 'P1' });
    expect(decideRebill({ kind: 'ok', value: { status: 'authorised' } }, fresh, policy).kind).toBe(
      'captured',
    );
  });

  it('pending is looked at again after the grace period, under the same key', () => {
    expect(
      decideRebill({ kind: 'ok', value: { status: 'pending', externalPaymentId: 'P2' } }, fresh, policy),
    ).toEqual({
      kind: 'pending',
      externalPaymentId: 'P2',
      recheckAt: at(2 * H),
    });
  });

  it('an unknown outcome repeats the same key with growing, capped delays', () => {
    const first = decideRebill({ kind: 'unknown', error: 'timeout' }, fresh, policy);
    expect(first).toEqual({ kind: 'retry_same_key', unknown: true, retryAt: at(60_000), error: 'timeout' });
    const fifth = decideRebill(
      { kind: 'unknown', error: 'timeout' },
      { ...fresh, technicalFailures: 4 },
      policy,
    );
    expect(fifth).toMatchObject({ retryAt: at(16 * 60_000) });
    const many = decideRebill(
      { kind: 'unknown', error: 'timeout' },
      { ...fresh, technicalFailures: 40 },
      policy,
    );
    expect(many).toMatchObject({ retryAt: at(H) });
  });

  it('a technical failure (nothing processed or a GW_* decline) repeats the same key', () => {
    const notProcessed = decideRebill({ kind: 'not_processed', decline: decline('GW_ERROR') }, fresh, policy);
    expect(notProcessed).toMatchObject({ kind: 'retry_same_key', unknown: false, retryAt: at(60_000) });
    const technical = decideRebill(
      { kind: 'ok', value: { status: 'rejected', decline: decline('GW_TIMEOUT') } },
      { ...fresh, technicalFailures: 1 },
      policy,
    );
    expect(technical).toMatchObject({ kind: 'retry_same_key', retryAt: at(120_000) });
  });

  it('a request the gateway refuses is for an operator', () => {
    const error = new GatewayRequestRejectedError(
      'cleverbridge',
      'unknown subscription',
      400,
      'SUBSCRIPTION_NOT_FOUND',
    );
    expect(decideRebill({ kind: 'invalid', error }, fresh, policy)).toEqual({
      kind: 'invalid',
      error: 'unknown subscription',
      gatewayCode: 'SUBSCRIPTION_NOT_FOUND',
    });
  });

  it('IsPaymentRetryScheduled waits for the gateway, whatever the class', () => {
    for (const code of ['PAY_CLE', 'CCA_EXP'] as const) {
      const decision = decideRebill(
        {
          kind: 'ok',
          value: {
            status: 'rejected',
            retryScheduled: true,
            decline: decline(code),
            externalPaymentId: 'P3',
            action: { type: 'hosted', url: 'https://pay.example/x' },
            actionExpiresAt: at(72 * H),
          },
        },
        fresh,
        policy,
      );
      expect(decision).toEqual({
        kind: 'retry_scheduled',
        decline: decline(code),
        graceUntil: at(2 * H),
        externalPaymentId: 'P3',
        checkout: { url: 'https://pay.example/x', expiresAt: at(72 * H) },
      });
    }
  });

  it('a hard decline stops and keeps the checkout URL', () => {
    const decision = decideRebill(
      {
        kind: 'ok',
        value: {
          status: 'rejected',
          decline: decline('PAY_REJ'),
          action: { type: 'hosted', url: 'https://pay.example/y' },
          actionExpiresAt: at(72 * H),
        },
      },
      fresh,
      policy,
    );
    expect(decision).toEqual({
      kind: 'hard_decline',
      decline: decline('PAY_REJ'),
      checkout: { url: 'https://pay.example/y', expiresAt: at(72 * H) },
    });
  });

  it('action_required without a decline is a hard stop with PAY_DEC', () => {
    const decision = decideRebill(
      { kind: 'ok', value: { status: 'action_required', action: { type: 'hosted', url: 'https://u' } } },
      fresh,
      policy,
    );
    expect(decision).toMatchObject({
      kind: 'hard_decline',
      decline: { code: 'PAY_DEC' },
      checkout: { url: 'https://u', expiresAt: null },
    });
  });
});

describe('decideRebill: Cleverbridge CustomerActionNeeded', () => {
  it('is a hard stop even though it maps to PAY_DEC (no retry fixes missing payment data)', () => {
    const decision = decideRebill(
      {
        kind: 'ok',
        value: {
          status: 'rejected',
          decline: decline('PAY_DEC', { code: 'CustomerActionNeeded' }),
          action: { type: 'hosted', url: 'https://c' },
        },
      },
      fresh,
      policy,
    );
    expect(decision).toMatchObject({ kind: 'hard_decline', checkout: { url: 'https://c' } });
  });
});

describe('decideDecline (soft declines follow DUNNING_SCHEDULE from the first failure)', () => {
  const soft = decline('PAY_CLE');

  it('walks the schedule and cancels after the last offset', () => {
    const first = decideDecline(soft, fresh, policy);
    expect(first).toEqual({
      kind: 'soft_decline',
      decline: soft,
      nextTryAt: at(D),
      dunningStep: 1,
      dunningStartedAt: now,
    });
    const second = decideDecline(
      soft,
      { ...fresh, now: at(D), dunningStep: 1, dunningStartedAt: now },
      policy,
    );
    expect(second).toMatchObject({
      kind: 'soft_decline',
      nextTryAt: at(3 * D),
      dunningStep: 2,
      dunningStartedAt: now,
    });
    const third = decideDecline(
      soft,
      { ...fresh, now: at(3 * D), dunningStep: 2, dunningStartedAt: now },
      policy,
    );
    expect(third).toMatchObject({ kind: 'soft_decline', nextTryAt: at(7 * D), dunningStep: 3 });
    const fourth = decideDecline(
      soft,
      { ...fresh, now: at(7 * D), dunningStep: 3, dunningStartedAt: now },
      policy,
      { externalPaymentId: 'P9' },
    );
    expect(fourth).toEqual({ kind: 'dunning_exhausted', decline: soft, externalPaymentId: 'P9' });
  });

  it('never schedules in the past (a late try after the grace period)', () => {
    const late = decideDecline(
      soft,
      { ...fresh, now: at(5 * D), dunningStep: 1, dunningStartedAt: now },
      policy,
    );
    expect(late).toMatchObject({ kind: 'soft_decline', nextTryAt: at(5 * D + 1), dunningStep: 2 });
  });

  it('an empty schedule cancels at the first soft decline', () => {
    expect(decideDecline(soft, fresh, { ...policy, scheduleMs: [] }).kind).toBe('dunning_exhausted');
  });

  it('hard codes stop at once', () => {
    for (const code of ['PAY_CEX', 'PAY_REJ', 'FRA_REJ', 'PAY_SCO', 'CCA_EXP'] as const) {
      expect(decideDecline(decline(code), fresh, policy).kind).toBe('hard_decline');
    }
  });
});

describe('technicalRetryDelay', () => {
  it('doubles from the base up to the cap', () => {
    expect([1, 2, 3, 4, 7, 8, 100].map((n) => technicalRetryDelay(n, policy))).toEqual([
      60_000,
      120_000,
      240_000,
      480_000,
      H,
      H,
      H,
    ]);
  });
});
