import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import {
  paymentCancelReport,
  paymentCreateReport,
  paymentUpdateReport,
  reasonOf,
} from '../cleeng/cleeng-reports';
import { isUniqueViolation } from '../common/database/column-transformers';
import { DomainError } from '../common/errors/domain-error';
import { assertTransition } from '../common/state-machine';
import { Decline } from '../gateways/decline-codes';
import { PaymentResult } from '../gateways/gateway.provider';
import { OrderEntity, PaymentOperation } from '../orders/order.entity';
import { OrdersService } from '../orders/orders.service';
import { OutboxService } from '../outbox/outbox.service';
import { PaymentDetailsService } from '../payment-details/payment-details.service';
import { shopperReference } from '../payment-details/shopper-reference';
import { PAYMENT_TRANSITIONS, PaymentEntity, PaymentGatewayState, PaymentStatus } from './payment.entity';

/** States in which a payment call's answer is still awaited. */
export const OPEN_STATUSES: PaymentStatus[] = ['pending', 'unknown', 'action_required'];

export type PaymentChanges = Partial<Omit<PaymentEntity, 'gatewayState'>> & {
  gatewayState?: PaymentGatewayState | null;
};

/**
 * Payment rows and their state: every change goes through PAYMENT_TRANSITIONS under the row lock, and every
 * state Cleeng must know about is reported through the outbox in the same transaction.
 */
@Injectable()
export class PaymentStateService {
  private readonly logger = new Logger(PaymentStateService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly orders: OrdersService,
    private readonly details: PaymentDetailsService,
    private readonly outbox: OutboxService,
  ) {}

  async insertPending(
    order: OrderEntity,
    operation: PaymentOperation,
    gatewayState: PaymentGatewayState,
    id: string = randomUUID(),
    paymentDetailsId: string | null = null,
  ): Promise<PaymentEntity> {
    const repo = this.db.getRepository(PaymentEntity);
    try {
      return await repo.save(
        repo.create({
          id,
          orderId: order.id,
          customerId: order.customerId,
          gateway: order.gateway,
          operation,
          amountMinor: order.amountMinor,
          currency: order.currency,
          status: 'pending',
          externalPaymentId: null,
          capturedMinor: 0,
          refundedMinor: 0,
          decline: null,
          action: null,
          gatewayState,
          paymentDetailsId,
          cleengPaymentId: null,
        }),
      );
    } catch (err) {
      if (isUniqueViolation(err, 'payments_one_live_per_order')) {
        const live = await repo.findOne({ where: { orderId: order.id }, order: { createdAt: 'DESC' } });
        if (live && ['captured', 'partially_refunded', 'refunded'].includes(live.status)) {
          throw new DomainError(
            'ORDER_ALREADY_PAID',
            `order ${order.id} is already paid by payment ${live.id}`,
          );
        }
        throw new DomainError(
          'PAYMENT_IN_PROGRESS',
          `order ${order.id} has a payment in progress (${live?.id ?? 'unknown'})`,
        );
      }
      throw err;
    }
  }

  /**
   * The request path and the gateway's notification race to settle the same answer (Adyen sends
   * AUTHORISATION while our call may still be waiting for its response): whoever comes second
   * finds the payment past pending and takes the state as it is.
   */
  async alreadySettled(id: string): Promise<PaymentEntity | undefined> {
    const current = await this.db.getRepository(PaymentEntity).findOneByOrFail({ id });
    return OPEN_STATUSES.includes(current.status) ? undefined : current;
  }

  async finishCaptured(
    payment: PaymentEntity,
    result: PaymentResult,
    captureId?: string,
  ): Promise<PaymentEntity> {
    const saved = await this.db.transaction(async (manager) => {
      const current = await this.lock(manager, payment.id);
      if (current.status === 'captured') {
        return current; // a webhook and the request path raced: the first one reported it
      }
      const detailsId = current.paymentDetailsId ?? (await this.storeToken(manager, current, result));
      const wasAuthorisedInCleeng =
        current.status === 'authorised' && current.gatewayState?.flow === 'recurring-authorise';
      const updated = await this.transition(manager, current.id, 'captured', {
        externalPaymentId: result.externalPaymentId ?? current.externalPaymentId ?? null,
        capturedMinor: current.amountMinor,
        paymentDetailsId: detailsId,
        action: null,
        gatewayState: {
          ...current.gatewayState,
          ...(captureId ? { captureId } : {}),
          pendingOperation: undefined,
        },
      });
      await this.orders.markPaid(manager, current.orderId);
      if (wasAuthorisedInCleeng) {
        await this.reportUpdate(manager, updated, { status: 'captured' }, 'capture');
      } else {
        await this.reportCreate(manager, updated, 'captured', result.recurringToken ? result : undefined);
      }
      return updated;
    });
    this.outbox.notify();
    return saved;
  }

  /** Authorise-first renewal: the money is held; Cleeng asks for the capture later. */
  async finishAuthorised(payment: PaymentEntity, result: PaymentResult): Promise<PaymentEntity> {
    const saved = await this.db.transaction(async (manager) => {
      const current = await this.lock(manager, payment.id);
      if (current.status === 'authorised') {
        return current;
      }
      const updated = await this.transition(manager, current.id, 'authorised', {
        externalPaymentId: result.externalPaymentId ?? null,
        gatewayState: {
          ...current.gatewayState,
          authorisationId: result.externalPaymentId,
          pendingOperation: undefined,
        },
      });
      await this.reportCreate(manager, updated, 'authorized');
      return updated;
    });
    this.outbox.notify();
    return saved;
  }

  async reject(
    payment: PaymentEntity,
    decline: Decline,
    externalPaymentId?: string | null,
  ): Promise<PaymentEntity> {
    const saved = await this.db.transaction(async (manager) => {
      const current = await this.lock(manager, payment.id);
      if (current.status === 'rejected') {
        return current;
      }
      const knownToCleeng =
        current.status === 'captured' ||
        (current.status === 'authorised' && current.gatewayState?.flow === 'recurring-authorise');
      const updated = await this.transition(manager, current.id, 'rejected', {
        decline,
        action: null,
        capturedMinor: 0,
        ...(externalPaymentId ? { externalPaymentId } : {}),
        gatewayState: { ...current.gatewayState, pendingOperation: undefined },
      });
      if (current.status === 'captured') {
        await this.orders.reopenIfPaid(manager, current.orderId);
      }
      if (knownToCleeng) {
        await this.reportUpdate(
          manager,
          updated,
          { status: 'rejected', rejectedReason: reasonOf(decline) },
          'reject',
        );
      } else {
        await this.reportCreate(manager, updated, 'rejected');
      }
      return updated;
    });
    this.outbox.notify();
    return saved;
  }

  /** The authorisation was released (cancel succeeded); Cleeng is told when it knew the payment. */
  async markCancelled(payment: PaymentEntity, reportToCleeng: boolean): Promise<PaymentEntity> {
    const saved = await this.db.transaction(async (manager) => {
      const current = await this.lock(manager, payment.id);
      if (current.status === 'cancelled') {
        return current;
      }
      const updated = await this.transition(manager, current.id, 'cancelled', {
        gatewayState: { ...current.gatewayState, pendingOperation: undefined },
      });
      if (reportToCleeng && updated.cleengPaymentId) {
        await this.outbox.enqueue(manager, paymentCancelReport(updated.id, updated.cleengPaymentId));
      }
      return updated;
    });
    this.outbox.notify();
    return saved;
  }

  private async reportCreate(
    manager: EntityManager,
    payment: PaymentEntity,
    status: 'captured' | 'authorized' | 'rejected',
    withToken?: PaymentResult,
  ): Promise<void> {
    const order = await this.orders.get(manager, payment.orderId);
    const state = payment.gatewayState ?? {};
    await this.outbox.enqueue(
      manager,
      paymentCreateReport({
        paymentId: payment.id,
        cleengOrderId: order.cleengOrderId,
        status,
        paymentOperation: payment.operation,
        externalPaymentId: payment.externalPaymentId,
        decline: payment.decline,
        ...(state.cleengSubscriptionId ? { cleengSubscriptionId: state.cleengSubscriptionId } : {}),
        ...(state.cleengPaymentDetailsId ? { cleengPaymentDetailsId: state.cleengPaymentDetailsId } : {}),
        ...(withToken?.recurringToken
          ? { recurringToken: { token: withToken.recurringToken, card: { ...withToken.card } } }
          : {}),
      }),
    );
  }

  /** PATCH /3.1/payments/{cleengPaymentId}: the id is filled in at send time (after the create is delivered). */
  async reportUpdate(
    manager: EntityManager,
    payment: PaymentEntity,
    change: Record<string, unknown>,
    dedupe: string,
  ): Promise<void> {
    await this.outbox.enqueue(
      manager,
      paymentUpdateReport(payment.id, payment.externalPaymentId, change, dedupe),
    );
  }

  async storeToken(
    manager: EntityManager,
    payment: PaymentEntity,
    result: PaymentResult,
  ): Promise<string | null> {
    if (!result.recurringToken || payment.paymentDetailsId) {
      return payment.paymentDetailsId;
    }
    const details = await this.details.create(manager, {
      customerId: payment.customerId,
      gateway: payment.gateway,
      shopperReference: shopperReference(payment.customerId),
      token: result.recurringToken,
      card: result.card ?? {},
    });
    return details.id;
  }

  async lock(manager: EntityManager, id: string): Promise<PaymentEntity> {
    return manager.findOneOrFail(PaymentEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  /** Locks the row, checks the transition table, applies the change. */
  async transition(
    manager: EntityManager,
    id: string,
    to: PaymentStatus,
    changes: PaymentChanges,
  ): Promise<PaymentEntity> {
    const current = await this.lock(manager, id);
    if (current.status !== to) {
      assertTransition('payment', PAYMENT_TRANSITIONS, current.status, to);
    }
    const { gatewayState, ...rest } = changes;
    await manager.update(PaymentEntity, { id }, {
      ...rest,
      status: to,
      ...(gatewayState !== undefined
        ? { gatewayState: gatewayState === null ? null : stripUndefined(gatewayState) }
        : {}),
    } as never);
    return manager.findOneByOrFail(PaymentEntity, { id });
  }

  update(id: string, to: PaymentStatus, changes: PaymentChanges): Promise<PaymentEntity> {
    return this.db.transaction((manager) => this.transition(manager, id, to, changes));
  }
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
