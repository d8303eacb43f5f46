import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { cleengId, CleengPayment, CreatePaymentRequest } from '../cleeng/cleeng.types';
import { isUniqueViolation } from '../common/database/column-transformers';
import { DomainError } from '../common/errors/domain-error';
import { Money } from '../common/money/money';
import { assertTransition } from '../common/state-machine';
import { decline as makeDecline, Decline } from '../gateways/decline-codes';
import { GatewayProvider, PaymentResult } from '../gateways/gateway.provider';
import { OrderEntity, PaymentOperation } from '../orders/order.entity';
import { OrdersService } from '../orders/orders.service';
import { OutboxService } from '../outbox/outbox.service';
import { PaymentDetailsService } from '../payment-details/payment-details.service';
import { shopperReference } from '../payment-details/shopper-reference';
import { callGateway, GatewayCallOutcome } from '../gateways/gateway-call';
import {
  PAYMENT_TRANSITIONS,
  PaymentEntity,
  PaymentFlow,
  PaymentGatewayState,
  PaymentStatus,
  PendingOperation,
} from './payment.entity';

export const CLEENG_PAYMENT_CREATE = 'cleeng.payment.create';
export const CLEENG_PAYMENT_UPDATE = 'cleeng.payment.update';

/** States in which a payment call's answer is still awaited. */
export const OPEN_STATUSES: PaymentStatus[] = ['pending', 'unknown', 'action_required'];

type PaymentChanges = Partial<Omit<PaymentEntity, 'gatewayState'>> & {
  gatewayState?: PaymentGatewayState | null;
};

/**
 * The one place a gateway answer becomes payment state: every transition goes through the table,
 * and every state Cleeng must know about is reported through the outbox in the same transaction.
 * Used by the purchase API, Cleeng renewals, gateway notifications and the reconciler alike.
 */
@Injectable()
export class PaymentProcessor implements OnModuleInit {
  private readonly logger = new Logger(PaymentProcessor.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly orders: OrdersService,
    private readonly details: PaymentDetailsService,
    private readonly outbox: OutboxService,
  ) {}

  onModuleInit(): void {
    // once Cleeng accepted the payment, keep its ids (payment, payment details) for later updates
    this.outbox.registerResultHandler(CLEENG_PAYMENT_CREATE, async (manager, message, result) => {
      const payment = (result as { payment?: CleengPayment } | undefined)?.payment;
      if (!payment) {
        return;
      }
      await manager.update(
        PaymentEntity,
        { id: message.aggregateId },
        { cleengPaymentId: String(payment.id) },
      );
      if (payment.paymentDetailsId !== undefined && payment.paymentDetailsId !== null) {
        const local = await manager.findOneBy(PaymentEntity, { id: message.aggregateId });
        if (local?.paymentDetailsId) {
          await this.details.linkCleengId(manager, local.paymentDetailsId, String(payment.paymentDetailsId));
        }
      }
    });
    this.outbox.registerPathParam('cleengPaymentId', async (paymentId) => {
      const payment = await this.db.getRepository(PaymentEntity).findOneBy({ id: paymentId });
      return payment?.cleengPaymentId ?? null;
    });
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

  /** Applies the outcome of a payment call (authorise, charge, tokenise, complete). */
  async settle(
    payment: PaymentEntity,
    gateway: GatewayProvider,
    operation: PendingOperation,
    outcome: GatewayCallOutcome<PaymentResult>,
  ): Promise<PaymentEntity> {
    const settled = await this.alreadySettled(payment.id);
    if (settled) {
      return settled;
    }
    switch (outcome.kind) {
      case 'unknown':
        this.logger.warn(`payment ${payment.id}: ${operation} outcome unknown (${outcome.error})`);
        return this.update(payment.id, 'unknown', {
          gatewayState: { ...payment.gatewayState, pendingOperation: operation, lastError: outcome.error },
        });
      case 'not_processed':
        return this.reject(payment, outcome.decline);
      case 'invalid':
        if (payment.operation === 'recurring-payment') {
          // renewals have no customer to answer: report the failure to Cleeng like a decline
          return this.reject(
            payment,
            makeDecline('GW_ERROR', { code: outcome.error.gatewayCode, reason: outcome.error.message }),
          );
        }
        // nothing happened at the gateway: no gateway payment exists, so nothing is reported to Cleeng
        await this.update(payment.id, 'rejected', {
          decline: makeDecline('GW_ERROR', {
            code: outcome.error.gatewayCode,
            reason: outcome.error.message,
          }),
        });
        throw new DomainError(
          'GATEWAY_REQUEST_INVALID',
          `the gateway refused the payment request: ${outcome.error.message}`,
        );
      case 'ok':
        return this.applyResult(payment, gateway, operation, outcome.value);
    }
  }

  async applyResult(
    payment: PaymentEntity,
    gateway: GatewayProvider,
    operation: PendingOperation,
    result: PaymentResult,
  ): Promise<PaymentEntity> {
    const settled = await this.alreadySettled(payment.id);
    if (settled) {
      return settled;
    }
    const externalPaymentId = result.externalPaymentId ?? payment.externalPaymentId ?? undefined;
    const flow: PaymentFlow = payment.gatewayState?.flow ?? 'initial';
    switch (result.status) {
      case 'rejected':
        return this.reject(payment, result.decline ?? makeDecline('PAY_DEC'), externalPaymentId);
      case 'action_required':
        return this.update(payment.id, 'action_required', {
          externalPaymentId: externalPaymentId ?? null,
          action: result.action ?? null,
          gatewayState: {
            ...payment.gatewayState,
            pendingOperation: undefined,
            ...(result.state ? { actionState: result.state } : {}),
          },
        });
      case 'pending':
        // the gateway will tell us the outcome by webhook
        return this.update(payment.id, 'pending', {
          externalPaymentId: externalPaymentId ?? null,
          gatewayState: { ...payment.gatewayState, pendingOperation: operation },
        });
      case 'captured':
        return this.finishCaptured(payment, { ...result, externalPaymentId });
      case 'authorised':
        if (payment.amountMinor === 0) {
          return this.finishFreeTrial(payment, result, externalPaymentId);
        }
        if (operation === 'charge' || flow === 'recurring-charge') {
          return this.finishCaptured(payment, { ...result, externalPaymentId });
        }
        if (flow === 'recurring-authorise') {
          return this.finishAuthorised(payment, { ...result, externalPaymentId });
        }
        return this.captureAuthorised(payment, gateway, { ...result, externalPaymentId });
    }
  }

  /**
   * The request path and the gateway's notification race to settle the same answer (Adyen sends
   * AUTHORISATION while our call may still be waiting for its response): whoever comes second
   * finds the payment past pending and takes the state as it is.
   */
  private async alreadySettled(id: string): Promise<PaymentEntity | undefined> {
    const current = await this.db.getRepository(PaymentEntity).findOneByOrFail({ id });
    return OPEN_STATUSES.includes(current.status) ? undefined : current;
  }

  /** Initial purchase: keep the authorisation (and token), then capture it right away. */
  private async captureAuthorised(
    payment: PaymentEntity,
    gateway: GatewayProvider,
    result: PaymentResult,
  ): Promise<PaymentEntity> {
    if (!result.externalPaymentId) {
      return this.reject(
        payment,
        makeDecline('GW_ERROR', { reason: 'authorisation without a gateway payment id' }),
      );
    }
    const externalPaymentId = result.externalPaymentId;
    const authorised = await this.db.transaction(async (manager) => {
      const detailsId = await this.storeToken(manager, payment, result);
      return this.transition(manager, payment.id, 'authorised', {
        externalPaymentId,
        paymentDetailsId: detailsId,
        gatewayState: {
          ...payment.gatewayState,
          authorisationId: externalPaymentId,
          pendingOperation: undefined,
        },
      });
    });
    return this.capture(authorised, gateway, result);
  }

  /**
   * Captures an authorised payment. Initial purchases report the capture as the payment's creation;
   * renewals Cleeng already knows as `authorized` get a PATCH to `captured`.
   */
  async capture(
    payment: PaymentEntity,
    gateway: GatewayProvider,
    result: PaymentResult = { status: 'authorised' },
  ): Promise<PaymentEntity> {
    const externalPaymentId = payment.externalPaymentId;
    if (!externalPaymentId) {
      throw new DomainError('PAYMENT_NOT_ACTIONABLE', `payment ${payment.id} has no gateway id to capture`);
    }
    const amount = Money.of(payment.amountMinor, payment.currency);
    const outcome = await callGateway(
      () =>
        gateway.capture({
          idempotencyKey: `${payment.id}:capture`,
          reference: payment.id,
          externalPaymentId,
          amount,
        }),
      { gateway: gateway.id, operation: 'capture' },
    );
    switch (outcome.kind) {
      case 'ok':
        if (outcome.value.status === 'rejected') {
          return this.rejectAfterFailedCapture(
            payment,
            gateway,
            outcome.value.decline ?? makeDecline('GW_ERROR'),
          );
        }
        return this.finishCaptured(
          payment,
          // where refunds name the capture, Cleeng must know the payment by the capture's id
          {
            ...result,
            externalPaymentId:
              gateway.capabilities.refundsByCaptureId && outcome.value.externalId
                ? outcome.value.externalId
                : externalPaymentId,
          },
          outcome.value.externalId,
        );
      case 'unknown':
        return this.update(payment.id, 'unknown', {
          gatewayState: { ...payment.gatewayState, pendingOperation: 'capture', lastError: outcome.error },
        });
      case 'not_processed':
        return this.rejectAfterFailedCapture(payment, gateway, outcome.decline);
      case 'invalid':
        return this.rejectAfterFailedCapture(
          payment,
          gateway,
          makeDecline('GW_ERROR', { code: outcome.error.gatewayCode, reason: outcome.error.message }),
        );
    }
  }

  /** Capture failed for good: release the held funds, then report the payment rejected. */
  private async rejectAfterFailedCapture(
    payment: PaymentEntity,
    gateway: GatewayProvider,
    decline: Decline,
  ): Promise<PaymentEntity> {
    if (payment.externalPaymentId) {
      const externalPaymentId = payment.externalPaymentId;
      const cancelled = await callGateway(
        () =>
          gateway.cancel({
            idempotencyKey: `${payment.id}:cancel`,
            reference: payment.id,
            externalPaymentId,
          }),
        { gateway: gateway.id, operation: 'cancel' },
      );
      if (cancelled.kind !== 'ok') {
        this.logger.error(
          `payment ${payment.id}: capture failed and the authorisation could not be cancelled`,
        );
      }
    }
    return this.reject(payment, decline, payment.externalPaymentId);
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
  private async finishAuthorised(payment: PaymentEntity, result: PaymentResult): Promise<PaymentEntity> {
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

  /** Free trial: a token and a zero payment reported as `initial-free-transaction`. */
  private async finishFreeTrial(
    payment: PaymentEntity,
    result: PaymentResult,
    externalPaymentId?: string,
  ): Promise<PaymentEntity> {
    if (!result.recurringToken) {
      return this.reject(
        payment,
        makeDecline('GW_ERROR', { reason: 'the gateway returned no recurring token' }),
        externalPaymentId,
      );
    }
    // Scenario 2 (tokenisation without a payment) has no gateway payment id: our payment id stands in
    return this.finishCaptured(payment, { ...result, externalPaymentId: externalPaymentId ?? payment.id });
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
        const order = await manager.findOneByOrFail(OrderEntity, { id: current.orderId });
        if (order.status === 'paid') {
          await manager.update(OrderEntity, { id: order.id }, { status: 'open' });
        }
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
        await this.outbox.enqueue(manager, {
          kind: 'cleeng.payment.cancel',
          aggregateId: updated.id,
          dedupeKey: `cleeng:payment:cancel:${updated.id}`,
          payload: {
            method: 'PATCH',
            path: `/payments/${encodeURIComponent(updated.cleengPaymentId)}/cancel`,
          },
        });
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
    const order = await manager.findOneByOrFail(OrderEntity, { id: payment.orderId });
    const state = payment.gatewayState ?? {};
    const body: CreatePaymentRequest = {
      orderId: cleengId(order.cleengOrderId),
      status,
      paymentOperation: payment.operation,
      ...(status !== 'rejected' || payment.externalPaymentId
        ? { externalPaymentId: payment.externalPaymentId ?? payment.id }
        : {}),
      ...(status === 'rejected'
        ? { rejectedReason: reasonOf(payment.decline ?? makeDecline('PAY_DEC')) }
        : {}),
      ...(state.cleengSubscriptionId ? { subscriptionId: state.cleengSubscriptionId } : {}),
      ...(state.cleengPaymentDetailsId ? { paymentDetailsId: cleengId(state.cleengPaymentDetailsId) } : {}),
    };
    const token = payment.operation === 'recurring-payment' ? undefined : withToken?.recurringToken;
    if (token) {
      body.paymentDetails = { token: '', paymentMethodSpecificParams: { ...withToken?.card } };
    }
    await this.outbox.enqueue(manager, {
      kind: CLEENG_PAYMENT_CREATE,
      aggregateId: payment.id,
      dedupeKey: `cleeng:payment:create:${payment.id}`,
      payload: {
        method: 'POST',
        path: '/payments',
        body: { ...body },
        ...(token ? { secretPath: 'paymentDetails.token' } : {}),
      },
      ...(token ? { secret: token } : {}),
    });
  }

  /** PATCH /3.1/payments/{cleengPaymentId}: the id is filled in at send time (after the create is delivered). */
  async reportUpdate(
    manager: EntityManager,
    payment: PaymentEntity,
    change: Record<string, unknown>,
    dedupe: string,
  ): Promise<void> {
    await this.outbox.enqueue(manager, {
      kind: CLEENG_PAYMENT_UPDATE,
      aggregateId: payment.id,
      dedupeKey: `cleeng:payment:update:${payment.id}:${dedupe}`,
      payload: {
        method: 'PATCH',
        path: '/payments/{cleengPaymentId}',
        body: {
          ...change,
          ...(payment.externalPaymentId ? { externalPaymentId: payment.externalPaymentId } : {}),
        },
      },
    });
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

export function reasonOf(decline: Decline): string {
  return decline.rawReason ? `${decline.reason} (${decline.rawReason})` : decline.reason;
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
