import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { groupedLookups } from '../common/database/group-commit';
import { rowToEntity } from '../common/database/row-lock';
import { isUuid } from '../common/ids/uuid';
import { RetryLaterError } from '../common/errors/retry-later.error';
import { decline } from '../gateways/decline-codes';
import { GatewayEvent } from '../gateways/gateway.provider';
import { GatewayRegistry } from '../gateways/gateway.registry';
import { GatewayBillingService } from '../gateway-billing/gateway-billing.service';
import { InboxEventEntity } from '../inbox/inbox-event.entity';
import { InboxOutcome, InboxService } from '../inbox/inbox.service';
import { PaymentEntity } from '../payments/payment.entity';
import { ConnectorEventsHandler } from '../rebilling/connector-events.handler';
import { PaymentProcessor } from '../payments/payment-processor.service';
import { OPEN_STATUSES, PaymentStateService } from '../payments/payment-state.service';
import { RefundsService } from '../refunds/refunds.service';
import { RebillAttemptEntity } from '../rebilling/rebill-attempt.entity';
import { callGateway } from '../gateways/gateway-call';
import { requireOperation } from '../gateways/gateway-operations';

/** What finds a notification's payment (see `payment`). */
interface PaymentLookup {
  gateway: string;
  reference: string | null;
  external: string | null;
}

/**
 * Applies normalised gateway notifications (Adyen AUTHORISATION, CAPTURE, CAPTURE_FAILED,
 * CANCELLATION, REFUND, REFUND_FAILED, RECURRING_CONTRACT, ...) to local state and Cleeng.
 * Notifications confirm or correct what the request path did; arriving late, twice or out of
 * order is normal, so each case checks the current state first.
 */
@Injectable()
export class GatewayEventsRouter implements OnModuleInit {
  private readonly logger = new Logger(GatewayEventsRouter.name);
  /** notifications handled at the same time find their payments with one statement */
  private readonly paymentLookups = groupedLookups<PaymentLookup>(
    (sql, params) => this.db.query(sql, params),
    `SELECT l.n::int AS lookup, p.*
       FROM unnest($1::text[], $2::uuid[], $3::text[]) WITH ORDINALITY AS l(gateway, reference, external, n)
       CROSS JOIN LATERAL (
         SELECT * FROM payments p
          WHERE p.gateway = l.gateway AND (p.id = l.reference OR p.external_payment_id = l.external)
          ORDER BY CASE WHEN p.id = l.reference THEN 0 ELSE 1 END
          LIMIT 1) p`,
    (lookups) => [
      lookups.map((l) => l.gateway),
      lookups.map((l) => l.reference),
      lookups.map((l) => l.external),
    ],
  );

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly inbox: InboxService,
    private readonly processor: PaymentProcessor,
    private readonly paymentState: PaymentStateService,
    private readonly refunds: RefundsService,
    private readonly gateways: GatewayRegistry,
    private readonly connectorManaged: ConnectorEventsHandler,
    private readonly gatewayManaged: GatewayBillingService,
  ) {}

  onModuleInit(): void {
    for (const gateway of this.gateways.enabled()) {
      this.inbox.registerHandler(gateway, (event) => this.handle(event));
    }
  }

  async handle(stored: InboxEventEntity): Promise<InboxOutcome> {
    const event = stored.payload as unknown as GatewayEvent;
    // rebill attempts, one-off purchases and connector-managed subscriptions are handled there
    const outcome = await this.connectorManaged.handle(stored.source, event);
    if (outcome) {
      return outcome;
    }
    switch (event.type) {
      case 'payment.authorised':
      case 'payment.paid':
        return this.authorised(stored, event);
      case 'payment.refused':
        return this.refused(stored, event);
      case 'capture.succeeded':
        return this.captureSucceeded(stored, event);
      case 'capture.failed':
        return this.captureFailed(stored, event);
      case 'cancel.succeeded':
        return this.cancelled(stored, event);
      case 'refund.succeeded':
      case 'refund.failed':
        return this.refundSettled(event);
      case 'token.created':
        return this.tokenCreated(stored, event);
      case 'payment.confirmation_requested':
        return this.confirmationRequested(stored, event);
      case 'payment.action_required':
        return this.actionRequired(stored, event);
      case 'billing.succeeded':
      case 'billing.failed':
      case 'subscription.updated':
        return this.gatewayManaged.handle(stored.source, event);
      case 'cancel.failed':
      case 'chargeback':
      case 'ignored':
        return 'ignored';
    }
  }

  /**
   * The payment the notification is about: by our reference, else by the gateway's payment id. The lookups of
   * notifications handled at the same time go to one statement, each with its own lateral lookup and order.
   */
  private async payment(source: string, event: GatewayEvent): Promise<PaymentEntity | null> {
    const reference = event.reference && isUuid(event.reference) ? event.reference : null;
    const external = event.externalPaymentId ?? null;
    if (reference === null && external === null) {
      return null;
    }
    const [row] = await this.paymentLookups.submit([{ gateway: source, reference, external }]);
    return row ? rowToEntity<PaymentEntity>(this.db.getMetadata(PaymentEntity), row) : null;
  }

  /** Resolves a payment whose answer we never got (timeout) or that was pending at the gateway. */
  private async authorised(stored: InboxEventEntity, event: GatewayEvent): Promise<InboxOutcome> {
    const payment = await this.payment(stored.source, event);
    if (!payment) {
      return 'ignored'; // not ours (e.g. a zero-auth for payment-details registration)
    }
    if (!OPEN_STATUSES.includes(payment.status)) {
      return 'ignored';
    }
    const gateway = this.gateways.get(payment.gateway);
    await this.processor.applyResult(
      payment,
      gateway,
      payment.gatewayState?.pendingOperation ?? 'authorise',
      {
        status: event.type === 'payment.paid' ? 'captured' : 'authorised',
        ...(event.externalPaymentId ? { externalPaymentId: event.externalPaymentId } : {}),
        ...(event.token ? { recurringToken: event.token } : {}),
        ...(event.card ? { card: event.card } : {}),
      },
    );
    return 'done';
  }

  private async refused(stored: InboxEventEntity, event: GatewayEvent): Promise<InboxOutcome> {
    const payment = await this.payment(stored.source, event);
    if (!payment || !OPEN_STATUSES.includes(payment.status)) {
      return 'ignored';
    }
    await this.paymentState.reject(
      payment,
      event.decline ?? decline('PAY_DEC', { reason: event.reason }),
      event.externalPaymentId,
    );
    return 'done';
  }

  private async captureSucceeded(stored: InboxEventEntity, event: GatewayEvent): Promise<InboxOutcome> {
    const payment = await this.payment(stored.source, event);
    if (!payment) {
      return 'ignored';
    }
    if (payment.status === 'unknown' && payment.gatewayState?.pendingOperation === 'capture') {
      await this.paymentState.finishCaptured(payment, { status: 'captured' }, event.externalModificationId);
      return 'done';
    }
    return 'ignored'; // we reported the capture when the gateway accepted it
  }

  /** CAPTURE_FAILED after we reported `captured`: correct the payment to rejected, here and in Cleeng. */
  private async captureFailed(stored: InboxEventEntity, event: GatewayEvent): Promise<InboxOutcome> {
    const payment = await this.payment(stored.source, event);
    if (!payment) {
      throw new RetryLaterError(
        `no local payment for ${event.externalPaymentId ?? event.reference ?? '?'} yet`,
      );
    }
    if (!['captured', 'authorised', 'unknown'].includes(payment.status)) {
      return 'ignored';
    }
    this.logger.warn(`payment ${payment.id}: capture failed at the gateway (${event.reason ?? 'no reason'})`);
    await this.paymentState.correctFailedCapture(
      payment,
      decline('GW_ERROR', { code: event.rawType, reason: event.reason ?? 'capture failed' }),
    );
    return 'done';
  }

  private async cancelled(stored: InboxEventEntity, event: GatewayEvent): Promise<InboxOutcome> {
    const payment = await this.payment(stored.source, event);
    if (!payment || !['authorised', 'unknown'].includes(payment.status)) {
      return 'ignored';
    }
    await this.paymentState.markCancelled(payment, false);
    return 'done';
  }

  private async refundSettled(event: GatewayEvent): Promise<InboxOutcome> {
    const refund = await this.refunds.findByReference(event.reference);
    if (!refund) {
      return 'ignored'; // refunded outside the connector
    }
    if (event.type === 'refund.succeeded') {
      if (refund.status === 'succeeded') {
        return 'ignored';
      }
      if (refund.status === 'requested') {
        throw new RetryLaterError(`refund ${refund.id} is still being requested`);
      }
      await this.refunds.succeed(refund, event.externalModificationId);
    } else {
      if (refund.status === 'failed') {
        return 'ignored';
      }
      await this.refunds.fail(refund, event.reason ?? 'refund failed at the gateway');
    }
    return 'done';
  }

  /** RECURRING_CONTRACT: the token of a payment whose authorisation answer did not carry it. */
  private async tokenCreated(stored: InboxEventEntity, event: GatewayEvent): Promise<InboxOutcome> {
    const payment = await this.payment(stored.source, { ...event, reference: undefined });
    if (!payment || payment.paymentDetailsId || !event.token) {
      return 'ignored';
    }
    const token = event.token;
    return this.db.transaction(async (manager) => {
      // a fresh locked read: the request path may have stored this payment's token meanwhile
      const current = await this.paymentState.lock(manager, payment.id);
      if (current.paymentDetailsId) {
        return 'ignored';
      }
      const detailsId = await this.paymentState.storeToken(manager, current, {
        status: 'authorised',
        recurringToken: token,
      });
      await manager.update(PaymentEntity, { id: current.id }, { paymentDetailsId: detailsId });
      return 'done';
    });
  }

  /**
   * The gateway holds a payment until we confirm it (Smart Glocal `ready_to_confirm`). Confirmed only when the
   * amount and currency are exactly our payment's (or rebill attempt's) on a fresh read, and it is still open;
   * otherwise the gateway is told to cancel, so nothing we did not ask for is taken. A payment already settled
   * by a later notification that arrived first (payment_finished before ready_to_confirm) is left alone.
   */
  private async confirmationRequested(stored: InboxEventEntity, event: GatewayEvent): Promise<InboxOutcome> {
    const externalPaymentId = event.externalPaymentId;
    if (!externalPaymentId) {
      return 'ignored';
    }
    const gateway = this.gateways.get(stored.source);
    const payment = await this.payment(stored.source, event);
    const attempt = payment ? null : await this.confirmableAttempt(stored.source, event);
    const target = payment
      ? {
          id: payment.id,
          open: OPEN_STATUSES.includes(payment.status),
          abandoned: ['rejected', 'cancelled'].includes(payment.status),
          amountMinor: payment.amountMinor,
          currency: payment.currency,
        }
      : attempt
        ? {
            id: attempt.id,
            open: ['charging', 'unknown', 'pending'].includes(attempt.status),
            abandoned: false,
            amountMinor: attempt.amountMinor,
            currency: attempt.currency,
          }
        : null;
    if (!target) {
      this.logger.warn(
        `${stored.source} ${externalPaymentId} asks for confirmation but is not ours: left to expire`,
      );
      return 'ignored';
    }
    const matches =
      event.amount?.value === target.amountMinor && event.amount.currency === target.currency.toUpperCase();
    if (target.open && matches) {
      const confirm = requireOperation(gateway, 'confirm');
      const outcome = await callGateway(
        () => confirm({ idempotencyKey: `${target.id}:confirm`, reference: target.id, externalPaymentId }),
        { gateway: gateway.id, operation: 'confirm', subject: target.id },
      );
      if (outcome.kind === 'unknown' || outcome.kind === 'not_processed') {
        throw new Error(`confirming ${externalPaymentId} got no answer; trying again`);
      }
      if (outcome.kind === 'invalid') {
        this.logger.warn(
          `${stored.source} refused to confirm ${externalPaymentId}: ${outcome.error.message}`,
        );
        return 'ignored';
      }
      if (outcome.value.status === 'rejected' && payment) {
        await this.paymentState.reject(
          payment,
          outcome.value.decline ?? decline('PAY_DEC'),
          externalPaymentId,
        );
      }
      return 'done';
    }
    if (!target.open && !target.abandoned) {
      return 'ignored'; // settled already (the outcome arrived first)
    }
    const cancel = requireOperation(gateway, 'cancel');
    const outcome = await callGateway(
      () => cancel({ idempotencyKey: `${target.id}:cancel`, reference: target.id, externalPaymentId }),
      { gateway: gateway.id, operation: 'cancel', subject: target.id },
    );
    if (outcome.kind === 'unknown' || outcome.kind === 'not_processed') {
      throw new Error(`cancelling ${externalPaymentId} got no answer; trying again`);
    }
    if (payment && target.open) {
      const got = event.amount ? `${event.amount.value} ${event.amount.currency}` : 'no amount';
      this.logger.error(
        `payment ${payment.id}: ${stored.source} asked to confirm ${got}, expected ${target.amountMinor} ${target.currency}; cancelled`,
      );
      await this.paymentState.reject(
        payment,
        decline('GW_ERROR', { code: 'AMOUNT_MISMATCH', reason: `gateway asked for ${got}` }),
        externalPaymentId,
      );
    }
    return 'done';
  }

  /** A rebill attempt of the connector's schedule that the event names (by attempt id or its key). */
  private async confirmableAttempt(source: string, event: GatewayEvent): Promise<RebillAttemptEntity | null> {
    const repo = this.db.getRepository(RebillAttemptEntity);
    const owner = event.attemptKey?.split(':')[0];
    for (const id of [event.reference, owner]) {
      if (id && isUuid(id)) {
        const found = await repo.findOneBy({ id, gateway: source });
        if (found) {
          return found;
        }
      }
    }
    return event.externalPaymentId
      ? repo.findOneBy({ gateway: source, externalPaymentId: event.externalPaymentId })
      : null;
  }

  /** The shopper must act (3DS), announced by notification: the payment shows the action to the front-end. */
  private async actionRequired(stored: InboxEventEntity, event: GatewayEvent): Promise<InboxOutcome> {
    const payment = await this.payment(stored.source, event);
    if (!payment || !event.action || !['pending', 'unknown'].includes(payment.status)) {
      return 'ignored'; // not ours, a rebill (no shopper to send), or settled / already waiting for the shopper
    }
    const gateway = this.gateways.get(payment.gateway);
    await this.processor.applyResult(payment, gateway, payment.gatewayState?.pendingOperation ?? 'charge', {
      status: 'action_required',
      action: event.action,
      ...(event.externalPaymentId ? { externalPaymentId: event.externalPaymentId } : {}),
    });
    return 'done';
  }
}
