import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import {
  paymentCancelReport,
  paymentCreateReport,
  paymentUpdateReport,
  reasonOf,
} from '../cleeng/cleeng-reports';
import { Clock } from '../common/clock/clock';
import { isUniqueViolation } from '../common/database/column-transformers';
import { DomainError } from '../common/errors/domain-error';
import { assertTransition } from '../common/state-machine';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Decline } from '../gateways/decline-codes';
import { GATEWAY_RETRY_DELAYS_MS } from '../gateways/gateway-call';
import { PaymentResult } from '../gateways/gateway.provider';
import { OrderEntity, PaymentOperation } from '../orders/order.entity';
import { OrdersService } from '../orders/orders.service';
import { OutboxService } from '../outbox/outbox.service';
import { PaymentDetailsService } from '../payment-details/payment-details.service';
import { shopperReference } from '../payment-details/shopper-reference';
import {
  PAYMENT_CORRECTIONS,
  PAYMENT_TRANSITIONS,
  PaymentCorrection,
  PaymentEntity,
  PaymentGatewayState,
  PaymentStatus,
} from './payment.entity';

/** States in which a payment call's answer is still awaited. */
export const OPEN_STATUSES: PaymentStatus[] = ['pending', 'unknown', 'action_required'];

/** A decline may only land on a payment whose money is not taken: open or merely authorised. */
const REJECTABLE: PaymentStatus[] = [...OPEN_STATUSES, 'authorised'];

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
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /** An abandoned action (3DS) expires this long after the payment started, whatever happened since. */
  actionDeadline(payment: PaymentEntity): Date {
    return new Date(payment.createdAt.getTime() + this.config.reconciler.actionExpiryMs);
  }

  /**
   * How long a payment may stay `pending` before the reconciler treats its call as lost: never less than twice
   * the longest a live request can spend in callGateway (every try timing out, plus the backoff), so a
   * request still waiting for its answer is never voided under it.
   */
  pendingGraceMs(): number {
    const tries = GATEWAY_RETRY_DELAYS_MS.length + 1;
    const backoff = GATEWAY_RETRY_DELAYS_MS.reduce((sum, ms) => sum + ms, 0);
    const longestCall = tries * this.config.gatewayTimeoutMs + backoff;
    return Math.max(this.config.reconciler.cancelAfterMs, 2 * longestCall);
  }

  /** When the reconciler first looks at a payment entering an open state: at that state's deadline. */
  firstCheckAt(status: PaymentStatus): Date {
    const { unknownAfterMs, actionExpiryMs } = this.config.reconciler;
    const waitMs =
      status === 'unknown' ? unknownAfterMs : status === 'pending' ? this.pendingGraceMs() : actionExpiryMs;
    return new Date(this.clock.now().getTime() + waitMs);
  }

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
          nextCheckAt: this.firstCheckAt('pending'),
          checkAttempts: 0,
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

  /**
   * A decline, decided on the fresh locked row: a payment that meanwhile got past `authorised` (a late
   * AUTHORISATION captured it while a caller held an old copy) is left as it is.
   */
  async reject(
    payment: PaymentEntity,
    decline: Decline,
    externalPaymentId?: string | null,
  ): Promise<PaymentEntity> {
    return this.rejectLocked(payment.id, decline, externalPaymentId);
  }

  /**
   * The gateway refused the request itself (4xx): no gateway payment exists, so Cleeng is told nothing.
   * Decided on the locked row like reject().
   */
  async discard(payment: PaymentEntity, decline: Decline): Promise<PaymentEntity> {
    return this.db.transaction(async (manager) => {
      const current = await this.lock(manager, payment.id);
      if (!REJECTABLE.includes(current.status)) {
        return current;
      }
      return this.transition(manager, current.id, 'rejected', {
        decline,
        action: null,
        gatewayState: { ...current.gatewayState, pendingOperation: undefined },
      });
    });
  }

  /**
   * The shopper is back (3DS / redirect): claims the completion on the locked row so concurrent reloads send
   * the details once. Returns undefined when the payment is not waiting for the shopper (any more).
   */
  async claimCompletion(id: string): Promise<PaymentEntity | undefined> {
    return this.db.transaction(async (manager) => {
      const current = await this.lock(manager, id);
      if (current.status !== 'action_required') {
        return undefined;
      }
      return this.transition(manager, id, 'pending', {
        gatewayState: { ...current.gatewayState, pendingOperation: 'complete' },
      });
    });
  }

  /**
   * The details were refused (4xx) or never reached the gateway: the payment waits for the shopper again, or
   * for the gateway's notification, until its action deadline. Nothing is rejected on a refused payload.
   */
  async releaseCompletion(id: string, error: string): Promise<PaymentEntity> {
    return this.db.transaction(async (manager) => {
      const current = await this.lock(manager, id);
      if (current.status !== 'pending' || current.gatewayState?.pendingOperation !== 'complete') {
        return current;
      }
      // keeps the original deadline: a refused payload must not extend an abandoned challenge
      const updated = await this.transition(manager, id, 'action_required', {
        gatewayState: { ...current.gatewayState, pendingOperation: undefined, lastError: error },
      });
      await manager.update(PaymentEntity, { id }, { nextCheckAt: this.actionDeadline(current) });
      return updated;
    });
  }

  /** The gateway's CAPTURE_FAILED: the only path by which a captured payment becomes rejected. */
  async correctFailedCapture(payment: PaymentEntity, decline: Decline): Promise<PaymentEntity> {
    return this.rejectLocked(payment.id, decline, undefined, 'capture-failed');
  }

  private async rejectLocked(
    id: string,
    decline: Decline,
    externalPaymentId: string | null | undefined,
    correction?: PaymentCorrection,
  ): Promise<PaymentEntity> {
    const saved = await this.db.transaction(async (manager) => {
      const current = await this.lock(manager, id);
      if (current.status === 'rejected') {
        return current;
      }
      const correctable = correction && PAYMENT_CORRECTIONS[correction][current.status]?.includes('rejected');
      if (!REJECTABLE.includes(current.status) && !correctable) {
        this.logger.warn(
          `payment ${current.id} is ${current.status}; a late decline (${decline.code}) is ignored`,
        );
        return current;
      }
      const knownToCleeng =
        current.status === 'captured' ||
        (current.status === 'authorised' && current.gatewayState?.flow === 'recurring-authorise');
      const updated = await this.transition(
        manager,
        current.id,
        'rejected',
        {
          decline,
          action: null,
          capturedMinor: 0,
          ...(externalPaymentId ? { externalPaymentId } : {}),
          gatewayState: { ...current.gatewayState, pendingOperation: undefined },
        },
        correction,
      );
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

  /** Locks the row, checks the transition table (or the named correction's), applies the change. */
  async transition(
    manager: EntityManager,
    id: string,
    to: PaymentStatus,
    changes: PaymentChanges,
    correction?: PaymentCorrection,
  ): Promise<PaymentEntity> {
    const current = await this.lock(manager, id);
    const corrects =
      correction !== undefined && PAYMENT_CORRECTIONS[correction][current.status]?.includes(to);
    if (current.status !== to && !corrects) {
      assertTransition('payment', PAYMENT_TRANSITIONS, current.status, to);
    }
    const { gatewayState, ...rest } = changes;
    // a new open state gets its own deadline; the backoff of the previous one does not carry over
    const schedule =
      OPEN_STATUSES.includes(to) && current.status !== to
        ? { nextCheckAt: this.firstCheckAt(to), checkAttempts: 0 }
        : {};
    await manager.update(PaymentEntity, { id }, {
      ...rest,
      ...schedule,
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
