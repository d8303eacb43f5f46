import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { paymentRefundReport } from '../cleeng/cleeng-reports';
import { Clock } from '../common/clock/clock';
import { DomainError } from '../common/errors/domain-error';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Money } from '../common/money/money';
import { assertTransition } from '../common/state-machine';
import { GatewayRegistry } from '../gateways/gateway.registry';
import { requireOperation } from '../gateways/gateway-operations';
import { OrdersService } from '../orders/orders.service';
import { OutboxService } from '../outbox/outbox.service';
import { callGateway } from '../gateways/gateway-call';
import { PaymentEntity } from '../payments/payment.entity';
import { PaymentStateService } from '../payments/payment-state.service';
import { REFUND_TRANSITIONS, RefundEntity, RefundStatus } from './refund.entity';
import { isUuid } from '../common/ids/uuid';

export interface RefundRequest {
  payment: PaymentEntity;
  /** default: everything still refundable */
  amount?: Money;
  reason?: string;
  source: RefundEntity['source'];
  /** natural idempotency key: a repeat with the same key returns the same refund */
  sourceKey: string;
  /** Cleeng asked for the refund (refundPayment): report back to this Cleeng payment */
  cleengPaymentId?: string;
}

/**
 * Refunds in the gateway, then in Cleeng (PATCH status refunded). The amount is reserved under a
 * row lock on the payment before the gateway call, and a CHECK constraint backs it, so concurrent
 * or repeated requests can never refund more than was captured.
 */
@Injectable()
export class RefundsService {
  private readonly logger = new Logger(RefundsService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly gateways: GatewayRegistry,
    private readonly paymentState: PaymentStateService,
    private readonly outbox: OutboxService,
    private readonly orders: OrdersService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  private checkIn(ms: number): Date {
    return new Date(this.clock.now().getTime() + ms);
  }

  async refund(request: RefundRequest): Promise<RefundEntity> {
    const existing = await this.db.getRepository(RefundEntity).findOneBy({ sourceKey: request.sourceKey });
    const refund = existing ?? (await this.reserve(request));
    if (refund.status !== 'requested' && refund.status !== 'unknown') {
      return refund;
    }
    return this.execute(refund);
  }

  /** Sends (or re-sends, same key) the refund to the gateway and applies the answer. */
  async execute(refund: RefundEntity): Promise<RefundEntity> {
    const payment = await this.db.getRepository(PaymentEntity).findOneByOrFail({ id: refund.paymentId });
    const gateway = this.gateways.get(payment.gateway);
    const externalPaymentId = payment.externalPaymentId;
    if (!externalPaymentId) {
      return this.fail(refund, 'payment has no gateway id');
    }
    const refundAtGateway = requireOperation(gateway, 'refund');
    const outcome = await callGateway(
      () =>
        refundAtGateway({
          idempotencyKey: `refund:${refund.id}`,
          reference: refund.id,
          externalPaymentId,
          amount: Money.of(refund.amountMinor, refund.currency),
          ...(refund.reason ? { reason: refund.reason } : {}),
        }),
      { gateway: gateway.id, operation: 'refund', subject: refund.paymentId },
    );
    switch (outcome.kind) {
      case 'ok':
        switch (outcome.value.status) {
          case 'refunded':
            return this.succeed(refund, outcome.value.externalId);
          case 'received':
            // asynchronous gateway: the REFUND / REFUND_FAILED notification settles it
            return this.move(refund, 'pending', { externalRefundId: outcome.value.externalId ?? null });
          case 'rejected':
            return this.fail(refund, outcome.value.decline?.reason ?? 'refused by the gateway');
          case 'captured':
          case 'cancelled':
            return this.fail(refund, `unexpected gateway answer ${outcome.value.status}`);
        }
        break;
      case 'unknown':
        return this.move(refund, 'unknown', { lastError: outcome.error });
      case 'not_processed':
        return this.fail(refund, outcome.decline.rawReason ?? outcome.decline.reason);
      case 'invalid':
        return this.fail(refund, outcome.error.message);
    }
  }

  /** The gateway confirmed the refund: mark it and report it to Cleeng. */
  async succeed(refund: RefundEntity, externalRefundId?: string): Promise<RefundEntity> {
    const saved = await this.db.transaction(async (manager) => {
      const current = await manager.findOneOrFail(RefundEntity, {
        where: { id: refund.id },
        lock: { mode: 'pessimistic_write' },
      });
      if (current.status === 'succeeded') {
        return current;
      }
      this.assert(current.status, 'succeeded');
      await manager.update(
        RefundEntity,
        { id: current.id },
        {
          status: 'succeeded',
          ...(externalRefundId ? { externalRefundId } : {}),
          lastError: null,
        },
      );
      const payment = await this.paymentState.lock(manager, current.paymentId);
      const refunded = await this.succeededTotal(manager, payment.id);
      await this.paymentState.transition(
        manager,
        payment.id,
        refunded >= payment.capturedMinor ? 'refunded' : 'partially_refunded',
        {},
      );
      await this.reportRefund(manager, payment, current);
      return manager.findOneByOrFail(RefundEntity, { id: current.id });
    });
    this.outbox.notify();
    return saved;
  }

  /** The refund did not happen: release the reserved amount. */
  async fail(refund: RefundEntity, error: string): Promise<RefundEntity> {
    return this.db.transaction(async (manager) => {
      const current = await manager.findOneOrFail(RefundEntity, {
        where: { id: refund.id },
        lock: { mode: 'pessimistic_write' },
      });
      if (current.status === 'failed') {
        return current;
      }
      this.assert(current.status, 'failed');
      const payment = await this.paymentState.lock(manager, current.paymentId);
      await manager.query(`UPDATE payments SET refunded_minor = refunded_minor - $2 WHERE id = $1`, [
        current.paymentId,
        current.amountMinor,
      ]);
      await manager.update(RefundEntity, { id: current.id }, { status: 'failed', lastError: error });
      if (current.status === 'succeeded') {
        // Cleeng was told `refunded` and has no way back: an operator must follow up with the customer
        this.logger.error(
          `refund ${current.id} failed after it succeeded (Cleeng already reported refunded): ${error}`,
        );
        const refunded = await this.succeededTotal(manager, payment.id);
        await this.paymentState.transition(
          manager,
          payment.id,
          refunded > 0 ? 'partially_refunded' : 'captured',
          {},
        );
      }
      return manager.findOneByOrFail(RefundEntity, { id: current.id });
    });
  }

  async findByReference(reference: string | undefined): Promise<RefundEntity | null> {
    if (!reference || !isUuid(reference)) {
      return null;
    }
    return this.db.getRepository(RefundEntity).findOneBy({ id: reference });
  }

  listForPayment(paymentId: string): Promise<RefundEntity[]> {
    return this.db.getRepository(RefundEntity).find({ where: { paymentId }, order: { createdAt: 'ASC' } });
  }

  private async reserve(request: RefundRequest): Promise<RefundEntity> {
    return this.db.transaction(async (manager) => {
      const payment = await this.paymentState.lock(manager, request.payment.id);
      if (payment.status !== 'captured' && payment.status !== 'partially_refunded') {
        throw new DomainError(
          'PAYMENT_NOT_REFUNDABLE',
          `payment ${payment.id} is ${payment.status}; only captured payments can be refunded`,
        );
      }
      const remaining = payment.capturedMinor - payment.refundedMinor;
      const amount = request.amount?.minor ?? remaining;
      if (request.amount && request.amount.currency !== payment.currency) {
        throw new DomainError(
          'VALIDATION_FAILED',
          `refund currency ${request.amount.currency} is not the payment's ${payment.currency}`,
          [{ field: 'amount.currency', messages: [`must be ${payment.currency}`] }],
        );
      }
      if (amount <= 0 || amount > remaining) {
        throw new DomainError(
          'REFUND_EXCEEDS_CAPTURED',
          `refund of ${amount} exceeds what is left to refund (${remaining} ${payment.currency} minor units)`,
          { captured: payment.capturedMinor, refunded: payment.refundedMinor, requested: amount },
        );
      }
      // refused before anything is reserved: a gateway without refunds, or a partial one where only whole ones exist
      const gateway = this.gateways.get(payment.gateway);
      requireOperation(gateway, 'refund');
      if (amount < payment.capturedMinor && !gateway.capabilities.partialRefund) {
        throw new DomainError(
          'VALIDATION_FAILED',
          `gateway ${payment.gateway} refunds whole payments only (${payment.capturedMinor} ${payment.currency} minor units)`,
          [{ field: 'amount', messages: [`must be the whole captured amount, ${payment.capturedMinor}`] }],
        );
      }
      await manager.query(`UPDATE payments SET refunded_minor = refunded_minor + $2 WHERE id = $1`, [
        payment.id,
        amount,
      ]);
      return manager.save(
        manager.create(RefundEntity, {
          paymentId: payment.id,
          amountMinor: amount,
          currency: payment.currency,
          status: 'requested',
          reason: request.reason ?? null,
          source: request.source,
          sourceKey: request.sourceKey,
          externalRefundId: null,
          lastError: null,
          // the request path sends it now; the reconciler only steps in if this process died doing so
          nextCheckAt: this.checkIn(this.config.reconciler.cancelAfterMs),
          checkAttempts: 0,
        }),
      );
    });
  }

  private async reportRefund(
    manager: EntityManager,
    payment: PaymentEntity,
    refund: RefundEntity,
  ): Promise<void> {
    const order = await this.orders.get(manager, payment.orderId);
    await this.outbox.enqueue(
      manager,
      paymentRefundReport({
        paymentId: payment.id,
        refundId: refund.id,
        cleengOrderId: order.cleengOrderId,
        paymentOperation: payment.operation,
        reason: refund.reason,
        amount: Money.of(refund.amountMinor, refund.currency),
      }),
    );
  }

  private async succeededTotal(manager: EntityManager, paymentId: string): Promise<number> {
    const rows: { total: string | null }[] = await manager.query(
      `SELECT sum(amount_minor)::text AS total FROM refunds WHERE payment_id = $1 AND status = 'succeeded'`,
      [paymentId],
    );
    return Number(rows[0]?.total ?? 0);
  }

  private move(
    refund: RefundEntity,
    to: RefundStatus,
    changes: Partial<RefundEntity>,
  ): Promise<RefundEntity> {
    return this.db.transaction(async (manager) => {
      const current = await manager.findOneOrFail(RefundEntity, {
        where: { id: refund.id },
        lock: { mode: 'pessimistic_write' },
      });
      if (current.status !== to) {
        this.assert(current.status, to);
      }
      const schedule =
        to === 'unknown' && current.status !== to
          ? { nextCheckAt: this.checkIn(this.config.reconciler.unknownAfterMs), checkAttempts: 0 }
          : {};
      await manager.update(RefundEntity, { id: current.id }, { ...changes, ...schedule, status: to });
      return manager.findOneByOrFail(RefundEntity, { id: current.id });
    });
  }

  private assert(from: RefundStatus, to: RefundStatus): void {
    assertTransition('refund', REFUND_TRANSITIONS, from, to);
  }
}
