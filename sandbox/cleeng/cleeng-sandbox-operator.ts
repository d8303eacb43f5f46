import { Injectable } from '@nestjs/common';
import { SandboxError, SandboxNotFoundError } from '../shared/sandbox-error';
import { InvalidMoneyError, Money } from '../shared/money';
import { CleengSandboxStore } from './cleeng-sandbox.store';
import { refundedTotal } from './cleeng-sandbox.wire';
import { CleengWebhookDelivery, CleengWebhookEmitter } from './cleeng-webhook.emitter';
import { capturePaymentData, refundPaymentData, terminationData } from './cleeng-webhook.payloads';

/**
 * What a publisher's operator does in the Cleeng dashboard, reduced to the webhook Cleeng then sends. None of
 * these change payments or subscriptions in the emulator: the connector does that through the 3.1 API after
 * handling the webhook (except deactivation, which Cleeng itself records).
 */
@Injectable()
export class CleengSandboxOperator {
  constructor(
    private readonly store: CleengSandboxStore,
    private readonly emitter: CleengWebhookEmitter,
  ) {}

  /** `refundPayment` for a captured payment; `amount` in major units, default everything not yet refunded. */
  refund(paymentId: number, amount?: number, reason?: string): CleengWebhookDelivery[] {
    const payment = this.store.findPayment(paymentId);
    if (!payment) {
      throw new SandboxNotFoundError('PAYMENT_NOT_FOUND', String(paymentId));
    }
    if (payment.status !== 'captured' && payment.status !== 'refunded') {
      throw new SandboxError(
        'PAYMENT_NOT_ACTIONABLE',
        `payment ${paymentId} is ${payment.status}; only captured payments can be refunded`,
      );
    }
    const refundable = payment.amount.subtract(refundedTotal(payment));
    let requested: Money;
    try {
      requested = amount === undefined ? refundable : Money.fromMajor(amount, payment.amount.currency);
    } catch (error: unknown) {
      if (error instanceof InvalidMoneyError) {
        throw new SandboxError('VALIDATION_FAILED', `amount: ${error.message}`, [
          { field: 'amount', messages: [error.message] },
        ]);
      }
      throw error;
    }
    if (requested.isZero() || requested.greaterThan(refundable)) {
      throw new SandboxError(
        'PAYMENT_NOT_ACTIONABLE',
        `payment ${paymentId}: refund of ${requested.toMajorString()} ${requested.currency} is not possible ` +
          `(refundable: ${refundable.toMajorString()})`,
      );
    }
    return this.emitter.emit('refundPayment', refundPaymentData(payment, requested, reason));
  }

  /** `capturePayment` for an authorised payment. */
  capture(paymentId: number): CleengWebhookDelivery[] {
    const payment = this.store.findPayment(paymentId);
    if (!payment) {
      throw new SandboxNotFoundError('PAYMENT_NOT_FOUND', String(paymentId));
    }
    if (payment.status !== 'authorized') {
      throw new SandboxError(
        'PAYMENT_NOT_ACTIONABLE',
        `payment ${paymentId} is ${payment.status}; only authorized payments can be captured`,
      );
    }
    return this.emitter.emit('capturePayment', capturePaymentData(payment));
  }

  /** `subscriptionReadyForTermination` for a subscription that is not terminated yet. */
  terminate(subscriptionId: number): CleengWebhookDelivery[] {
    const subscription = this.store.findSubscription(subscriptionId);
    if (!subscription) {
      throw new SandboxNotFoundError('NOT_FOUND', `subscription ${subscriptionId}`);
    }
    if (subscription.status === 'terminated') {
      throw new SandboxError(
        'INVALID_STATE_TRANSITION',
        `subscription ${subscriptionId} is already terminated`,
      );
    }
    return this.emitter.emit('subscriptionReadyForTermination', terminationData(subscription));
  }

  /** Marks the payment details inactive; the store announces `paymentDetailsDeactivated` (sent by the emitter). */
  deactivatePaymentDetails(paymentDetailsId: number): { paymentDetailsId: number; active: false } {
    const outcome = this.store.deactivatePaymentDetails(paymentDetailsId);
    if (!outcome.ok) {
      if (outcome.status === 404) {
        throw new SandboxNotFoundError('NOT_FOUND', `payment details ${paymentDetailsId}`);
      }
      throw new SandboxError('INVALID_STATE_TRANSITION', outcome.message);
    }
    return { paymentDetailsId, active: false };
  }
}
