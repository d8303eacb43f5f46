import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { claimDueChecks } from '../common/database/lease-claim';
import { backoffDelay, PollingWorker } from '../common/polling-worker';
import { Money } from '../common/money/money';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Decline, decline } from '../gateways/decline-codes';
import { requireOperation } from '../gateways/gateway-operations';
import { callGateway } from '../gateways/gateway-call';
import { GatewayProvider } from '../gateways/gateway.provider';
import { GatewayRegistry } from '../gateways/gateway.registry';
import { PaymentDetailsEntity } from '../payment-details/payment-details.entity';
import { PaymentDetailsService } from '../payment-details/payment-details.service';
import { PaymentEntity } from './payment.entity';
import { PaymentProcessor } from './payment-processor.service';
import { OPEN_STATUSES, PaymentStateService } from './payment-state.service';
import { CapturePaymentService } from './capture-payment.service';

export interface ReconcileSummary {
  checked: number;
  resolved: number;
}

/**
 * An initial purchase is captured right after its authorisation (auto-capture); one left `authorised` lost its
 * capture to a crash. Authorise-first renewals stay `authorised` until Cleeng asks for the capture.
 */
const AWAITS_CAPTURE_SQL = `(status = 'authorised' AND gateway_state->>'flow' = 'initial')`;

function awaitsCapture(payment: PaymentEntity): boolean {
  return payment.status === 'authorised' && payment.gatewayState?.flow === 'initial';
}

/** How long a claimed row stays reserved for this instance's pass (several gateway calls with retries). */
const CHECK_LEASE_MS = 5 * 60_000;

/**
 * Resolves payments left open: `unknown` (no answer), `pending` (the process died mid-call, or the gateway
 * answered pending) and `action_required` (the shopper left the 3DS page).
 *
 * - Merchant-initiated calls and captures are asked again under the SAME idempotency key (the gateway
 *   answers with its first result), never assumed declined.
 * - A customer-initiated authorisation cannot be replayed (card data is never stored): it waits for the
 *   gateway's notification and, past RECONCILE_CANCEL_AFTER_MS, is cancelled by reference and rejected
 *   (GW_TIMEOUT). An abandoned action is cancelled by reference past PAYMENT_ACTION_EXPIRY_MS.
 * - Every decision is taken on a fresh read, and the final one on the locked row (PaymentStateService), so a
 *   notification that settled the payment during a slow pass always wins.
 * - Work is ordered by `next_check_at`; a row that cannot be resolved yet is backed off, so it never crowds
 *   out newer ones.
 */
@Injectable()
export class UnknownOutcomeReconciler extends PollingWorker<ReconcileSummary> {
  protected readonly intervalMs: number;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly gateways: GatewayRegistry,
    private readonly processor: PaymentProcessor,
    private readonly paymentState: PaymentStateService,
    private readonly captures: CapturePaymentService,
    private readonly details: PaymentDetailsService,
    private readonly clock: Clock,
  ) {
    super();
    this.intervalMs = config.reconciler.intervalMs;
  }

  protected async pass(): Promise<ReconcileSummary> {
    const due = await this.claimDue();
    let resolved = 0;
    for (const row of due) {
      if (this.stopped) {
        break; // shutting down: nothing is claimed, the next pass (any instance) takes the rest
      }
      try {
        const payment = await this.db.getRepository(PaymentEntity).findOneByOrFail({ id: row.id });
        const after = await this.reconcile(payment);
        if (OPEN_STATUSES.includes(after.status) || awaitsCapture(after)) {
          await this.checkLater(after.id, row.checkAttempts, after);
        } else {
          resolved += 1;
        }
      } catch (err) {
        this.logger.error(
          `reconciling payment ${row.id} failed: ${err instanceof Error ? err.message : String(err)}`,
        );
        await this.checkLater(row.id, row.checkAttempts).catch(() => undefined);
      }
    }
    return { checked: due.length, resolved };
  }

  /**
   * One payment: replay what can be replayed, void what is past its deadline. `payment` may be an old copy
   * (a batch loaded before slow calls): the decision is made on a fresh read. Returns the payment as it stands.
   */
  async reconcile(payment: PaymentEntity): Promise<PaymentEntity> {
    const current = await this.db.getRepository(PaymentEntity).findOneByOrFail({ id: payment.id });
    if (awaitsCapture(current)) {
      // an initial purchase authorised, its capture's answer never written (the process died): capture again
      // under the same key; the gateway answers with the first capture instead of capturing twice
      return this.captures.capture(current, this.gateways.get(current.gateway));
    }
    if (!OPEN_STATUSES.includes(current.status)) {
      return current;
    }
    const gateway = this.gateways.get(current.gateway);
    const now = this.clock.now().getTime();
    if (current.status === 'action_required') {
      if (now < this.paymentState.actionDeadline(current).getTime()) {
        return current;
      }
      return this.voidAndReject(
        current,
        gateway,
        decline('PAY_DEC', {
          code: 'ACTION_EXPIRED',
          reason: 'the shopper did not complete the payment in time',
        }),
        'action expired',
      );
    }
    const operation =
      current.gatewayState?.pendingOperation ??
      (current.gatewayState?.flow === 'recurring-authorise' ? 'authorise' : 'charge');
    const flow = current.gatewayState?.flow ?? 'initial';
    if (current.status === 'unknown' && operation === 'capture') {
      return this.captures.capture(current, gateway);
    }
    if (
      flow !== 'initial' &&
      (operation === 'authorise' || operation === 'charge') &&
      current.paymentDetailsId &&
      (current.status === 'unknown' || now >= this.deadlineOf(current))
    ) {
      return this.replayMerchantInitiated(current, gateway, operation, current.paymentDetailsId);
    }
    const age = now - (current.status === 'pending' ? current.updatedAt : current.createdAt).getTime();
    if (now < this.deadlineOf(current)) {
      return current; // the gateway's notification (AUTHORISATION) will settle it
    }
    return this.voidAndReject(
      current,
      gateway,
      decline('GW_TIMEOUT', { reason: 'no answer from the gateway; cancelled' }),
      `no outcome after ${Math.round(age / 1000)} s`,
    );
  }

  private async replayMerchantInitiated(
    payment: PaymentEntity,
    gateway: GatewayProvider,
    operation: 'authorise' | 'charge',
    paymentDetailsId: string,
  ): Promise<PaymentEntity> {
    const stored = await this.db
      .getRepository(PaymentDetailsEntity)
      .findOneByOrFail({ id: paymentDetailsId });
    const token = this.details.revealToken(stored);
    const outcome = await callGateway(
      () => {
        const input = {
          idempotencyKey: `${payment.id}:${operation}`,
          reference: payment.id,
          amount: Money.of(payment.amountMinor, payment.currency),
          customer: { reference: stored.shopperReference },
          source: { kind: 'stored' as const, token },
          initiator: 'merchant' as const,
          storeForRecurring: false,
          returnUrl: `${this.config.publicUrl}/v1/payments/${payment.id}/return`,
        };
        return requireOperation(gateway, operation)(input);
      },
      { gateway: gateway.id, operation, subject: payment.id },
    );
    return this.processor.settle(payment, gateway, operation, outcome);
  }

  /**
   * Cancels whatever the gateway holds under our reference, then rejects on the locked row: a payment that a
   * notification captured in the meantime stays captured (reject() leaves it alone). Without a cancel by
   * reference nothing is rejected: the gateway might still take the money, so the payment waits (backed off).
   */
  private async voidAndReject(
    payment: PaymentEntity,
    gateway: GatewayProvider,
    reason: Decline,
    why: string,
  ): Promise<PaymentEntity> {
    if (!gateway.cancelByReference) {
      this.logger.warn(
        `payment ${payment.id} (${payment.status}): ${why}, but ${gateway.id} cannot cancel by reference`,
      );
      return payment;
    }
    const cancel = gateway.cancelByReference.bind(gateway);
    const outcome = await callGateway(
      () =>
        cancel({
          idempotencyKey: `${payment.id}:void`,
          reference: payment.id,
          ...(payment.externalPaymentId ? { externalPaymentId: payment.externalPaymentId } : {}),
        }),
      { gateway: gateway.id, operation: 'cancelByReference', subject: payment.id },
    );
    if (outcome.kind !== 'ok') {
      return payment;
    }
    this.logger.warn(`payment ${payment.id} (${payment.status}): ${why}, cancelled by reference`);
    return this.paymentState.reject(payment, reason);
  }

  /**
   * Claims the rows due for a check, oldest `next_check_at` first, and leases them (their next check moves past
   * this pass) so other instances skip them.
   */
  private async claimDue(): Promise<{ id: string; checkAttempts: number }[]> {
    const now = this.clock.now();
    const due = await claimDueChecks(this.db, {
      table: 'payments',
      open: `status IN ('pending', 'unknown', 'action_required') OR ${AWAITS_CAPTURE_SQL}`,
      now,
      leaseUntil: new Date(now.getTime() + CHECK_LEASE_MS),
      limit: this.config.reconciler.batchSize,
    });
    return due.map((r) => ({
      id: r.id,
      checkAttempts: r.check_attempts,
    }));
  }

  /** Not resolved yet: look again after a backoff, but not later than the row's own deadline. */
  private async checkLater(id: string, attempts: number, payment?: PaymentEntity): Promise<void> {
    const { intervalMs, backoffMaxMs } = this.config.reconciler;
    const now = this.clock.now().getTime();
    let next = now + backoffDelay(attempts, intervalMs, backoffMaxMs);
    const deadline = payment ? this.deadlineOf(payment) : undefined;
    if (deadline !== undefined && deadline > now) {
      next = Math.min(next, deadline);
    }
    await this.db.query(
      `UPDATE payments SET next_check_at = $2
       WHERE id = $1 AND (status IN ('pending', 'unknown', 'action_required') OR ${AWAITS_CAPTURE_SQL})`,
      [id, new Date(next)],
    );
  }

  /** When an open payment is voided if nothing settled it (see reconcile()). */
  private deadlineOf(payment: PaymentEntity): number {
    if (payment.status === 'action_required') {
      return this.paymentState.actionDeadline(payment).getTime();
    }
    // pending: from when it became pending (a crash mid-call); unknown: from the customer's request
    return payment.status === 'pending'
      ? payment.updatedAt.getTime() + this.paymentState.pendingGraceMs()
      : payment.createdAt.getTime() + this.config.reconciler.cancelAfterMs;
  }
}
