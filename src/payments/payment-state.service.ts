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
import { ORDER_TRANSITIONS, OrderEntity, PaymentOperation } from '../orders/order.entity';
import { returnedRows } from '../common/database/query-result';
import { rowToEntity } from '../common/database/row-lock';
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

/** How many orders' Cleeng ids are remembered between a payment's start and its report. */
const CLEENG_ORDER_IDS_KEPT = 10_000;

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
  private readonly cleengOrderIds = new Map<string, string>();

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
    this.rememberCleengOrder(order);
    try {
      const rows = returnedRows<Record<string, unknown>>(
        await this.db.query(
          `INSERT INTO payments (id, order_id, customer_id, gateway, operation, amount_minor, currency, status,
             external_payment_id, captured_minor, refunded_minor, decline, action, gateway_state, payment_details_id,
             cleeng_payment_id, next_check_at, check_attempts)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', NULL, 0, 0, NULL, NULL, $8::jsonb, $9, NULL, $10, 0)
           RETURNING *`,
          [
            id,
            order.id,
            order.customerId,
            order.gateway,
            operation,
            order.amountMinor,
            order.currency,
            JSON.stringify(stripUndefined(gatewayState)),
            paymentDetailsId,
            this.firstCheckAt('pending'),
          ],
        ),
      );
      return this.toEntity(rows[0]);
    } catch (err) {
      if (isUniqueViolation(err, 'payments_one_live_per_order')) {
        const repo = this.db.getRepository(PaymentEntity);
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
    // a renewal Cleeng knows as authorised is PATCHed captured (below); anything else is reported as created
    const capturable: PaymentStatus[] =
      payment.gatewayState?.flow === 'recurring-authorise' ? OPEN_STATUSES : [...OPEN_STATUSES, 'authorised'];
    const moved = await this.captureIfIn(capturable, payment, result, captureId);
    if (moved) {
      return moved;
    }
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

  /**
   * The hot path of finishCaptured as one statement (so one transaction): the payment moves to captured only if it
   * is still in one of `from` (the WHERE on the status is the lock and the fresh read), keeps the token it came
   * with (a new payment-details row) unless it has details, marks its order paid and enqueues the report to
   * Cleeng. Undefined when the row was not in `from` (or its order not open, or its gateway id not the one the
   * report names): someone else moved it, and the caller decides again on the locked row.
   */
  async captureIfIn(
    from: readonly PaymentStatus[],
    payment: PaymentEntity,
    result: PaymentResult,
    captureId?: string,
  ): Promise<PaymentEntity | undefined> {
    const legal = legalSources(from, 'captured');
    assertTransition('order', ORDER_TRANSITIONS, 'open', 'paid');
    const cleengOrderId = await this.cleengOrderIdOf(payment.orderId);
    const externalPaymentId = result.externalPaymentId ?? payment.externalPaymentId ?? null;
    const details = this.newDetails(payment, result);
    const report = paymentCreateReport({
      paymentId: payment.id,
      cleengOrderId,
      status: 'captured',
      paymentOperation: payment.operation,
      externalPaymentId,
      decline: payment.decline,
      ...(payment.gatewayState?.cleengSubscriptionId
        ? { cleengSubscriptionId: payment.gatewayState.cleengSubscriptionId }
        : {}),
      ...(payment.gatewayState?.cleengPaymentDetailsId
        ? { cleengPaymentDetailsId: payment.gatewayState.cleengPaymentDetailsId }
        : {}),
      ...(result.recurringToken
        ? { recurringToken: { token: result.recurringToken, card: { ...result.card } } }
        : {}),
    });
    const params: unknown[] = [
      payment.id,
      externalPaymentId,
      details?.id ?? null,
      JSON.stringify(captureId ? { captureId } : {}),
      legal,
      payment.externalPaymentId,
      payment.gatewayState?.flow ?? 'initial',
      details?.shopperReference ?? null,
      details?.tokenSealed ?? null,
      JSON.stringify(details?.card ?? {}),
    ];
    const enqueue = this.outbox.insertFrom(report, params.length + 1, 'moved');
    // the order is read and written by its key, not joined: a join's generic plan made while orders was small
    // scanned the whole table on every capture once it had grown (docs/performance-history.md, seventeenth pass)
    const rows = returnedRows<Record<string, unknown>>(
      await this.db.query(
        `WITH moved AS (
           UPDATE payments SET status = 'captured', external_payment_id = $2, captured_minor = amount_minor,
             payment_details_id = coalesce(payment_details_id, $3::uuid), action = NULL,
             gateway_state = (coalesce(gateway_state, '{}'::jsonb) - 'pendingOperation') || $4::jsonb,
             updated_at = now()
           WHERE id = $1 AND status = ANY($5::text[])
             AND external_payment_id IS NOT DISTINCT FROM $6::text
             AND coalesce(gateway_state->>'flow', 'initial') = $7
             AND (SELECT o.status FROM orders o WHERE o.id = payments.order_id) = 'open'
           RETURNING payments.*),
         details AS (
           INSERT INTO payment_details (id, customer_id, gateway, shopper_reference, token_sealed, card, status)
           SELECT $3::uuid, moved.customer_id, moved.gateway, $8, $9, $10::jsonb, 'active' FROM moved
           WHERE $3::uuid IS NOT NULL AND moved.payment_details_id = $3::uuid),
         paid AS (
           UPDATE orders SET status = 'paid', updated_at = now()
           WHERE orders.id = (SELECT order_id FROM moved) AND orders.status = 'open'),
         report AS (${enqueue.sql})
         SELECT * FROM moved`,
        [...params, ...enqueue.params],
      ),
    );
    const row = rows[0];
    if (!row) {
      return undefined;
    }
    this.outbox.notify();
    return this.toEntity(row);
  }

  /**
   * Initial purchase, answer `authorised`: keeps the authorisation (and the token, in a new payment-details row)
   * in one statement while the payment is still open (the capture goes next; if this process dies before its
   * answer is written, the reconciler captures under the same key once the call could no longer be in flight).
   * Undefined when it is not open any more: the gateway's notification got there first.
   */
  async authoriseIfOpen(
    payment: PaymentEntity,
    result: PaymentResult & { externalPaymentId: string },
  ): Promise<PaymentEntity | undefined> {
    const details = this.newDetails(payment, result);
    const rows = returnedRows<Record<string, unknown>>(
      await this.db.query(
        `WITH moved AS (
           UPDATE payments SET status = 'authorised', external_payment_id = $2,
             payment_details_id = coalesce(payment_details_id, $3::uuid), next_check_at = $4, check_attempts = 0,
             gateway_state = (coalesce(gateway_state, '{}'::jsonb) - 'pendingOperation') || $5::jsonb,
             updated_at = now()
           WHERE id = $1 AND status = ANY($6::text[])
           RETURNING *),
         details AS (
           INSERT INTO payment_details (id, customer_id, gateway, shopper_reference, token_sealed, card, status)
           SELECT $3::uuid, moved.customer_id, moved.gateway, $7, $8, $9::jsonb, 'active' FROM moved
           WHERE $3::uuid IS NOT NULL AND moved.payment_details_id = $3::uuid)
         SELECT * FROM moved`,
        [
          payment.id,
          result.externalPaymentId,
          details?.id ?? null,
          this.firstCheckAt('pending'),
          JSON.stringify({ authorisationId: result.externalPaymentId }),
          legalSources(OPEN_STATUSES, 'authorised'),
          details?.shopperReference ?? null,
          details?.tokenSealed ?? null,
          JSON.stringify(details?.card ?? {}),
        ],
      ),
    );
    return rows[0] ? this.toEntity(rows[0]) : undefined;
  }

  /** The details row a token would be kept in (unless the payment already has details): see storeToken. */
  private newDetails(
    payment: PaymentEntity,
    result: PaymentResult,
  ): ReturnType<PaymentDetailsService['sealedRow']> | undefined {
    if (!result.recurringToken || payment.paymentDetailsId) {
      return undefined;
    }
    return this.details.sealedRow({
      customerId: payment.customerId,
      gateway: payment.gateway,
      shopperReference: shopperReference(payment.customerId),
      token: result.recurringToken,
      card: result.card ?? {},
    });
  }

  /** Cleeng's id of an order (never changes): remembered from the payment's start, else read. */
  private async cleengOrderIdOf(orderId: string): Promise<string> {
    const known = this.cleengOrderIds.get(orderId);
    if (known !== undefined) {
      return known;
    }
    const rows: { cleeng_order_id: string }[] = await this.db.query(
      `SELECT cleeng_order_id FROM orders WHERE id = $1`,
      [orderId],
    );
    const found = rows[0]?.cleeng_order_id;
    if (found === undefined) {
      throw new Error(`order ${orderId} not found`);
    }
    return found;
  }

  private rememberCleengOrder(order: OrderEntity): void {
    if (this.cleengOrderIds.size >= CLEENG_ORDER_IDS_KEPT) {
      // oldest first: a payment is settled within seconds of its start
      const oldest = this.cleengOrderIds.keys().next();
      if (!oldest.done) {
        this.cleengOrderIds.delete(oldest.value);
      }
    }
    this.cleengOrderIds.set(order.id, order.cleengOrderId);
  }

  private toEntity(row: Record<string, unknown> | undefined): PaymentEntity {
    if (!row) {
      throw new Error('no payment row returned');
    }
    return rowToEntity<PaymentEntity>(this.db.getMetadata(PaymentEntity), row);
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

/** The states among `candidates` the transition table lets move to `to`. */
function legalSources(candidates: readonly PaymentStatus[], to: PaymentStatus): PaymentStatus[] {
  return candidates.filter((from) => PAYMENT_TRANSITIONS[from].includes(to));
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
