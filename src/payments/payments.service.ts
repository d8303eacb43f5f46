import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Principal, restrictedCustomer } from '../auth/principal';
import { cleengId, CleengPayment, CreatePaymentRequest } from '../cleeng/cleeng.types';
import { isUniqueViolation } from '../common/database/column-transformers';
import { DomainError, NotFoundError } from '../common/errors/domain-error';
import { Money } from '../common/money/money';
import { assertTransition } from '../common/state-machine';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { decline as makeDecline, Decline } from '../gateways/decline-codes';
import {
  GatewayCustomer,
  GatewayProvider,
  PaymentMethodData,
  PaymentResult,
} from '../gateways/gateway.provider';
import { GatewayRegistry } from '../gateways/gateway.registry';
import { OrderEntity, PaymentOperation } from '../orders/order.entity';
import { OrdersService } from '../orders/orders.service';
import { OutboxService } from '../outbox/outbox.service';
import { PaymentDetailsService } from '../payment-details/payment-details.service';
import { callGateway, GatewayCallOutcome } from './gateway-call';
import {
  PAYMENT_TRANSITIONS,
  PaymentEntity,
  PaymentGatewayState,
  PaymentStatus,
  PendingOperation,
} from './payment.entity';

export interface StartPaymentInput {
  orderId: string;
  paymentMethod: PaymentMethodData;
  returnUrl?: string;
  browserInfo?: Record<string, unknown>;
}

/** In-request retries of a technical failure, under the same idempotency key. */
const RETRY_DELAYS_MS = [250, 1000] as const;

export const CLEENG_PAYMENT_CREATE = 'cleeng.payment.create';

/** Adyen wants a shopperReference of 3+ characters without personal data. */
export function shopperReference(customerId: string): string {
  return `cleeng-customer-${customerId}`;
}

/**
 * Initial purchase and free trial (seed "Subscription Initial Purchase"): charge exactly the
 * order's amount, authorise then capture where the gateway separates them, keep the recurring
 * token, and report the result to Cleeng through the outbox in the same transaction.
 */
@Injectable()
export class PaymentsService implements OnModuleInit {
  private readonly logger = new Logger(PaymentsService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly orders: OrdersService,
    private readonly gateways: GatewayRegistry,
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
  }

  async findForPrincipal(principal: Principal, id: string): Promise<PaymentEntity> {
    const customer = restrictedCustomer(principal);
    const payment = await this.db
      .getRepository(PaymentEntity)
      .findOneBy(customer === undefined ? { id } : { id, customerId: customer });
    if (!payment) {
      throw new NotFoundError('PAYMENT_NOT_FOUND', id);
    }
    return payment;
  }

  async start(principal: Principal, input: StartPaymentInput): Promise<PaymentEntity> {
    const order = await this.orders.findForPrincipal(principal, input.orderId);
    const gateway = this.gateways.get(order.gateway);
    const amount = Money.of(order.amountMinor, order.currency);
    const operation: PaymentOperation = amount.isZero() ? 'initial-free-transaction' : 'initial-payment';
    const id = randomUUID();
    const returnUrl = input.returnUrl ?? `${this.config.publicUrl}/v1/payments/${id}/return`;
    const payment = await this.insertPending(id, order, operation, { returnUrl });
    const customer: GatewayCustomer = {
      reference: shopperReference(order.customerId),
      country: order.country,
    };
    const source = { kind: 'customer' as const, paymentMethod: input.paymentMethod };
    const common = { reference: payment.id, customer, source, returnUrl, browserInfo: input.browserInfo };

    if (operation === 'initial-free-transaction') {
      const outcome = await callGateway(
        () =>
          gateway.tokenise({
            ...common,
            idempotencyKey: `${payment.id}:tokenise`,
            currency: amount.currency,
          }),
        RETRY_DELAYS_MS,
      );
      return this.onPaymentOutcome(payment, gateway, 'tokenise', outcome);
    }
    const mode: PendingOperation = gateway.capabilities.separateCapture ? 'authorise' : 'charge';
    const outcome = await callGateway(() => {
      const call = {
        ...common,
        idempotencyKey: `${payment.id}:${mode}`,
        amount,
        initiator: 'customer' as const,
        storeForRecurring: true,
      };
      return mode === 'authorise' ? gateway.authorise(call) : gateway.charge(call);
    }, RETRY_DELAYS_MS);
    return this.onPaymentOutcome(payment, gateway, mode, outcome);
  }

  /** The shopper is back from 3DS / a redirect: finish the payment with the gateway's return payload. */
  async complete(principal: Principal, id: string, details: Record<string, unknown>): Promise<PaymentEntity> {
    const payment = await this.findForPrincipal(principal, id);
    return this.completeLoaded(payment, details);
  }

  /** The gateway redirected the shopper's browser to our default returnUrl. */
  async completeFromReturn(id: string, details: Record<string, unknown>): Promise<PaymentEntity> {
    const payment = await this.db.getRepository(PaymentEntity).findOneBy({ id });
    if (!payment) {
      throw new NotFoundError('PAYMENT_NOT_FOUND', id);
    }
    return this.completeLoaded(payment, details);
  }

  private async completeLoaded(
    payment: PaymentEntity,
    details: Record<string, unknown>,
  ): Promise<PaymentEntity> {
    if (payment.status !== 'action_required') {
      throw new DomainError(
        'PAYMENT_NOT_ACTIONABLE',
        `payment ${payment.id} is ${payment.status}, not waiting for the shopper`,
      );
    }
    const gateway = this.gateways.get(payment.gateway);
    const outcome = await callGateway(
      () =>
        gateway.completeAction({
          idempotencyKey: `${payment.id}:complete`,
          reference: payment.id,
          details,
          ...(payment.gatewayState?.actionState ? { state: payment.gatewayState.actionState } : {}),
        }),
      RETRY_DELAYS_MS,
    );
    const mode: PendingOperation = payment.amountMinor === 0 ? 'tokenise' : 'complete';
    return this.onPaymentOutcome(payment, gateway, mode, outcome);
  }

  private async insertPending(
    id: string,
    order: OrderEntity,
    operation: PaymentOperation,
    gatewayState: PaymentGatewayState,
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
          paymentDetailsId: null,
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

  private async onPaymentOutcome(
    payment: PaymentEntity,
    gateway: GatewayProvider,
    operation: PendingOperation,
    outcome: GatewayCallOutcome<PaymentResult>,
  ): Promise<PaymentEntity> {
    switch (outcome.kind) {
      case 'unknown':
        this.logger.warn(`payment ${payment.id}: ${operation} outcome unknown (${outcome.error})`);
        return this.update(payment.id, 'unknown', {
          gatewayState: { ...payment.gatewayState, pendingOperation: operation, lastError: outcome.error },
        });
      case 'not_processed':
        return this.reject(payment, outcome.decline);
      case 'invalid':
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

  private async applyResult(
    payment: PaymentEntity,
    gateway: GatewayProvider,
    operation: PendingOperation,
    result: PaymentResult,
  ): Promise<PaymentEntity> {
    const externalPaymentId = result.externalPaymentId ?? payment.externalPaymentId;
    switch (result.status) {
      case 'rejected':
        return this.reject(payment, result.decline ?? makeDecline('PAY_DEC'), externalPaymentId);
      case 'action_required':
        return this.update(payment.id, 'action_required', {
          externalPaymentId,
          action: result.action ?? null,
          gatewayState: { ...payment.gatewayState, ...(result.state ? { actionState: result.state } : {}) },
        });
      case 'pending':
        // the gateway will tell us the outcome by webhook
        return this.update(payment.id, 'pending', { externalPaymentId });
      case 'captured':
        return this.finishCaptured(payment, { ...result, externalPaymentId: externalPaymentId ?? undefined });
      case 'authorised':
        if (payment.amountMinor === 0) {
          return this.finishFreeTrial(payment, result, externalPaymentId);
        }
        if (operation === 'charge') {
          return this.finishCaptured(payment, {
            ...result,
            externalPaymentId: externalPaymentId ?? undefined,
          });
        }
        return this.captureAuthorised(payment, gateway, result);
    }
  }

  private async captureAuthorised(
    payment: PaymentEntity,
    gateway: GatewayProvider,
    result: PaymentResult,
  ): Promise<PaymentEntity> {
    const externalPaymentId = result.externalPaymentId;
    if (!externalPaymentId) {
      return this.reject(
        payment,
        makeDecline('GW_ERROR', { reason: 'authorisation without a gateway payment id' }),
      );
    }
    // keep the authorisation (and its token) before capturing, so a crash here loses nothing
    const authorised = await this.db.transaction(async (manager) => {
      const detailsId = await this.storeToken(manager, payment, result);
      return this.transition(manager, payment.id, 'authorised', {
        externalPaymentId,
        paymentDetailsId: detailsId,
        gatewayState: { ...payment.gatewayState, authorisationId: externalPaymentId },
      });
    });
    const amount = Money.of(payment.amountMinor, payment.currency);
    const outcome = await callGateway(
      () =>
        gateway.capture({
          idempotencyKey: `${payment.id}:capture`,
          reference: payment.id,
          externalPaymentId,
          amount,
        }),
      RETRY_DELAYS_MS,
    );
    switch (outcome.kind) {
      case 'ok':
        if (outcome.value.status === 'rejected') {
          return this.rejectAfterFailedCapture(
            authorised,
            gateway,
            outcome.value.decline ?? makeDecline('GW_ERROR'),
          );
        }
        return this.finishCaptured(authorised, { ...result, externalPaymentId }, outcome.value.externalId);
      case 'unknown':
        return this.update(payment.id, 'unknown', {
          gatewayState: { ...authorised.gatewayState, pendingOperation: 'capture', lastError: outcome.error },
        });
      case 'not_processed':
        return this.rejectAfterFailedCapture(authorised, gateway, outcome.decline);
      case 'invalid':
        return this.rejectAfterFailedCapture(
          authorised,
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
      const cancelled = await callGateway(
        () =>
          gateway.cancel({
            idempotencyKey: `${payment.id}:cancel`,
            reference: payment.id,
            externalPaymentId: payment.externalPaymentId ?? '',
          }),
        RETRY_DELAYS_MS,
      );
      if (cancelled.kind !== 'ok') {
        this.logger.error(
          `payment ${payment.id}: capture failed and the authorisation could not be cancelled`,
        );
      }
    }
    return this.reject(payment, decline, payment.externalPaymentId);
  }

  private async finishCaptured(
    payment: PaymentEntity,
    result: PaymentResult & { externalPaymentId?: string },
    captureId?: string,
  ): Promise<PaymentEntity> {
    const saved = await this.db.transaction(async (manager) => {
      const detailsId = payment.paymentDetailsId ?? (await this.storeToken(manager, payment, result));
      const updated = await this.transition(manager, payment.id, 'captured', {
        externalPaymentId: result.externalPaymentId ?? null,
        capturedMinor: payment.amountMinor,
        paymentDetailsId: detailsId,
        action: null,
        gatewayState: {
          ...payment.gatewayState,
          ...(captureId ? { captureId } : {}),
          pendingOperation: undefined,
        },
      });
      await this.orders.markPaid(manager, payment.orderId);
      await this.reportCaptured(manager, updated, result);
      return updated;
    });
    this.outbox.notify();
    return saved;
  }

  /** Free trial: a token and a zero payment reported as `initial-free-transaction`. */
  private async finishFreeTrial(
    payment: PaymentEntity,
    result: PaymentResult,
    externalPaymentId: string | null,
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

  private async reject(
    payment: PaymentEntity,
    decline: Decline,
    externalPaymentId?: string | null,
  ): Promise<PaymentEntity> {
    const saved = await this.db.transaction(async (manager) => {
      const updated = await this.transition(manager, payment.id, 'rejected', {
        decline,
        action: null,
        ...(externalPaymentId ? { externalPaymentId } : {}),
      });
      const order = await manager.findOneByOrFail(OrderEntity, { id: payment.orderId });
      const body: CreatePaymentRequest = {
        orderId: cleengId(order.cleengOrderId),
        status: 'rejected',
        paymentOperation: updated.operation,
        rejectedReason: decline.rawReason ? `${decline.reason} (${decline.rawReason})` : decline.reason,
        ...(updated.externalPaymentId ? { externalPaymentId: updated.externalPaymentId } : {}),
      };
      await this.outbox.enqueue(manager, {
        kind: CLEENG_PAYMENT_CREATE,
        aggregateId: updated.id,
        dedupeKey: `cleeng:payment:create:${updated.id}`,
        payload: { method: 'POST', path: '/payments', body: { ...body } },
      });
      return updated;
    });
    this.outbox.notify();
    return saved;
  }

  private async reportCaptured(
    manager: EntityManager,
    payment: PaymentEntity,
    result: PaymentResult,
  ): Promise<void> {
    const order = await manager.findOneByOrFail(OrderEntity, { id: payment.orderId });
    const body: CreatePaymentRequest = {
      orderId: cleengId(order.cleengOrderId),
      status: 'captured',
      paymentOperation: payment.operation,
      externalPaymentId: payment.externalPaymentId ?? payment.id,
    };
    const token = result.recurringToken;
    if (token) {
      body.paymentDetails = { token: '', paymentMethodSpecificParams: { ...result.card } };
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

  private async storeToken(
    manager: EntityManager,
    payment: PaymentEntity,
    result: PaymentResult,
  ): Promise<string | null> {
    if (!result.recurringToken) {
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

  /** Locks the row, checks the transition table, applies the change. */
  private async transition(
    manager: EntityManager,
    id: string,
    to: PaymentStatus,
    changes: Partial<Omit<PaymentEntity, 'gatewayState'>> & { gatewayState?: PaymentGatewayState | null },
  ): Promise<PaymentEntity> {
    const current = await manager.findOneOrFail(PaymentEntity, {
      where: { id },
      lock: { mode: 'pessimistic_write' },
    });
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

  private update(
    id: string,
    to: PaymentStatus,
    changes: Partial<Omit<PaymentEntity, 'gatewayState'>> & { gatewayState?: PaymentGatewayState | null },
  ): Promise<PaymentEntity> {
    return this.db.transaction((manager) => this.transition(manager, id, to, changes));
  }
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
