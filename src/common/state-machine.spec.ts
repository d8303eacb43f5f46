import { ORDER_TRANSITIONS } from '../orders/order.entity';
import { PAYMENT_DETAILS_TRANSITIONS } from '../payment-details/payment-details.entity';
import { PAYMENT_CORRECTIONS, PAYMENT_TRANSITIONS, PaymentStatus } from '../payments/payment.entity';
import { REFUND_TRANSITIONS } from '../refunds/refund.entity';
import { InvalidTransitionError } from './errors/domain-error';
import { assertTransition, TransitionTable } from './state-machine';

function allowed<S extends string>(table: TransitionTable<S>, from: S, to: S): boolean {
  try {
    assertTransition('payment', table, from, to);
    return true;
  } catch (err) {
    if (err instanceof InvalidTransitionError) {
      return false;
    }
    throw err;
  }
}

describe('transition tables', () => {
  it('allows the purchase path and nothing that skips or reverses it', () => {
    const ok: [PaymentStatus, PaymentStatus][] = [
      ['pending', 'authorised'],
      ['pending', 'action_required'],
      ['action_required', 'authorised'],
      ['authorised', 'captured'],
      ['captured', 'partially_refunded'],
      ['partially_refunded', 'refunded'],
      ['pending', 'unknown'],
      ['unknown', 'captured'],
    ];
    for (const [from, to] of ok) {
      expect({ from, to, ok: allowed(PAYMENT_TRANSITIONS, from, to) }).toEqual({ from, to, ok: true });
    }
    const refused: [PaymentStatus, PaymentStatus][] = [
      ['captured', 'authorised'],
      ['captured', 'pending'],
      ['rejected', 'captured'],
      ['cancelled', 'authorised'],
      ['refunded', 'rejected'],
      ['pending', 'refunded'],
      ['authorised', 'refunded'],
      // issue 8 item 2: an ordinary decline never undoes a capture (see PAYMENT_CORRECTIONS)
      ['captured', 'rejected'],
    ];
    for (const [from, to] of refused) {
      expect({ from, to, ok: allowed(PAYMENT_TRANSITIONS, from, to) }).toEqual({ from, to, ok: false });
    }
  });

  it('lets only a named CAPTURE_FAILED correction move captured to rejected', () => {
    expect(PAYMENT_CORRECTIONS['capture-failed']).toEqual({ captured: ['rejected'] });
  });

  it('makes rejected and cancelled terminal', () => {
    expect(PAYMENT_TRANSITIONS.rejected).toEqual([]);
    expect(PAYMENT_TRANSITIONS.cancelled).toEqual([]);
    expect(REFUND_TRANSITIONS.failed).toEqual([]);
    expect(PAYMENT_DETAILS_TRANSITIONS.deleted).toEqual([]);
  });

  it('throws a typed 409 error for an illegal move', () => {
    expect(() => assertTransition('payment', PAYMENT_TRANSITIONS, 'refunded', 'authorised')).toThrow(
      InvalidTransitionError,
    );
    let caught: unknown;
    try {
      assertTransition('order', ORDER_TRANSITIONS, 'open', 'open');
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({
      code: 'INVALID_STATE_TRANSITION',
      details: { entity: 'order', from: 'open', to: 'open' },
    });
    expect(() => assertTransition('refund', REFUND_TRANSITIONS, 'requested', 'pending')).not.toThrow();
  });

  it('every table names only its own states', () => {
    const tables: TransitionTable<string>[] = [
      PAYMENT_TRANSITIONS,
      REFUND_TRANSITIONS,
      ORDER_TRANSITIONS,
      PAYMENT_DETAILS_TRANSITIONS,
    ];
    for (const table of tables) {
      const states = Object.keys(table);
      for (const targets of Object.values(table)) {
        for (const target of targets) {
          expect(states).toContain(target);
        }
      }
    }
  });
});
