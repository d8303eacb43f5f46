import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DomainError } from '../common/errors/domain-error';
import { decline as makeDecline } from '../gateways/decline-codes';
import { GatewayCallOutcome } from '../gateways/gateway-call';
import { GatewayProvider, PaymentResult } from '../gateways/gateway.provider';
import { CapturePaymentService } from './capture-payment.service';
import { PaymentEntity, PaymentFlow, PendingOperation } from './payment.entity';
import { OPEN_STATUSES, PaymentStateService } from './payment-state.service';

/**
 * The one place a gateway answer becomes payment state (through PaymentStateService and its transition
 * table). Used by the purchase API, Cleeng renewals, gateway notifications and the reconciler alike.
 */
@Injectable()
export class PaymentProcessor {
  private readonly logger = new Logger(PaymentProcessor.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly state: PaymentStateService,
    private readonly captures: CapturePaymentService,
  ) {}

  /** Applies the outcome of a payment call (authorise, charge, tokenise, complete). */
  async settle(
    payment: PaymentEntity,
    gateway: GatewayProvider,
    operation: PendingOperation,
    outcome: GatewayCallOutcome<PaymentResult>,
  ): Promise<PaymentEntity> {
    if (outcome.kind === 'ok') {
      return this.applyResult(payment, gateway, operation, outcome.value);
    }
    const settled = await this.state.alreadySettled(payment.id);
    if (settled) {
      return settled;
    }
    switch (outcome.kind) {
      case 'unknown':
        this.logger.warn(`payment ${payment.id}: ${operation} outcome unknown (${outcome.error})`);
        return this.state.update(payment.id, 'unknown', {
          gatewayState: { ...payment.gatewayState, pendingOperation: operation, lastError: outcome.error },
        });
      case 'not_processed':
        return this.state.reject(payment, outcome.decline);
      case 'invalid':
        if (payment.operation === 'recurring-payment') {
          // renewals have no customer to answer: report the failure to Cleeng like a decline
          return this.state.reject(
            payment,
            makeDecline('GW_ERROR', { code: outcome.error.gatewayCode, reason: outcome.error.message }),
          );
        }
        {
          // nothing happened at the gateway: no gateway payment exists, so nothing is reported to Cleeng
          const current = await this.state.discard(
            payment,
            makeDecline('GW_ERROR', { code: outcome.error.gatewayCode, reason: outcome.error.message }),
          );
          if (current.status !== 'rejected') {
            return current; // settled meanwhile (a notification got there first): that outcome stands
          }
        }
        throw new DomainError(
          'GATEWAY_REQUEST_INVALID',
          `the gateway refused the payment request: ${outcome.error.message}`,
        );
    }
  }

  async applyResult(
    payment: PaymentEntity,
    gateway: GatewayProvider,
    operation: PendingOperation,
    result: PaymentResult,
  ): Promise<PaymentEntity> {
    const applied = await this.applyWhileOpen(payment, gateway, operation, result);
    if (applied) {
      return applied;
    }
    const settled = await this.state.alreadySettled(payment.id);
    if (settled) {
      return settled;
    }
    const externalPaymentId = result.externalPaymentId ?? payment.externalPaymentId ?? undefined;
    const flow: PaymentFlow = payment.gatewayState?.flow ?? 'initial';
    switch (result.status) {
      case 'rejected':
        return this.state.reject(payment, result.decline ?? makeDecline('PAY_DEC'), externalPaymentId);
      case 'action_required':
        return this.state.update(payment.id, 'action_required', {
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
        return this.state.update(payment.id, 'pending', {
          externalPaymentId: externalPaymentId ?? null,
          gatewayState: { ...payment.gatewayState, pendingOperation: operation },
        });
      case 'captured':
        return this.state.finishCaptured(payment, { ...result, externalPaymentId });
      case 'authorised':
        if (payment.amountMinor === 0) {
          return this.finishFreeTrial(payment, result, externalPaymentId);
        }
        if (operation === 'charge' || flow === 'recurring-charge') {
          return this.state.finishCaptured(payment, { ...result, externalPaymentId });
        }
        if (flow === 'recurring-authorise') {
          return this.state.finishAuthorised(payment, { ...result, externalPaymentId });
        }
        return this.captureAuthorised(payment, gateway, { ...result, externalPaymentId });
    }
  }

  /**
   * The answers every purchase and renewal gets (captured, or authorised on the way to the capture), applied by
   * one conditional statement each while the payment is open: no read first, since the statement's WHERE on the
   * status is the fresh read. Undefined when the answer is another one, or the payment was not open any more
   * (e.g. the gateway's notification settled it first): applyResult then decides on the fresh row as always.
   */
  private async applyWhileOpen(
    payment: PaymentEntity,
    gateway: GatewayProvider,
    operation: PendingOperation,
    result: PaymentResult,
  ): Promise<PaymentEntity | undefined> {
    const externalPaymentId = result.externalPaymentId ?? payment.externalPaymentId ?? undefined;
    const flow: PaymentFlow = payment.gatewayState?.flow ?? 'initial';
    const captured =
      result.status === 'captured' ||
      (result.status === 'authorised' &&
        payment.amountMinor > 0 &&
        (operation === 'charge' || flow === 'recurring-charge'));
    if (captured) {
      return this.state.captureIfIn(OPEN_STATUSES, payment, { ...result, externalPaymentId });
    }
    const toCapture =
      result.status === 'authorised' && payment.amountMinor > 0 && flow === 'initial' && externalPaymentId;
    if (toCapture) {
      const authorised = await this.state.authoriseIfOpen(payment, { ...result, externalPaymentId });
      return authorised ? this.captures.capture(authorised, gateway, result) : undefined;
    }
    return undefined;
  }

  /** Initial purchase: keep the authorisation (and token), then capture it right away. */
  private async captureAuthorised(
    payment: PaymentEntity,
    gateway: GatewayProvider,
    result: PaymentResult,
  ): Promise<PaymentEntity> {
    if (!result.externalPaymentId) {
      return this.state.reject(
        payment,
        makeDecline('GW_ERROR', { reason: 'authorisation without a gateway payment id' }),
      );
    }
    const externalPaymentId = result.externalPaymentId;
    const authorised = await this.db.transaction(async (manager) => {
      // locked first: the gateway's AUTHORISATION notification races this path, and only one may keep the token
      const current = await this.state.lock(manager, payment.id);
      const detailsId = await this.state.storeToken(manager, current, result);
      return this.state.transition(manager, payment.id, 'authorised', {
        externalPaymentId,
        paymentDetailsId: detailsId,
        // the capture is on its way; if this process dies before its answer is written, the reconciler
        // captures under the same key once the call could no longer be in flight
        nextCheckAt: this.state.firstCheckAt('pending'),
        checkAttempts: 0,
        gatewayState: {
          ...payment.gatewayState,
          authorisationId: externalPaymentId,
          pendingOperation: undefined,
        },
      });
    });
    return this.captures.capture(authorised, gateway, result);
  }

  /** Free trial: a token and a zero payment reported as `initial-free-transaction`. */
  private async finishFreeTrial(
    payment: PaymentEntity,
    result: PaymentResult,
    externalPaymentId?: string,
  ): Promise<PaymentEntity> {
    if (!result.recurringToken) {
      return this.state.reject(
        payment,
        makeDecline('GW_ERROR', { reason: 'the gateway returned no recurring token' }),
        externalPaymentId,
      );
    }
    // Scenario 2 (tokenisation without a payment) has no gateway payment id: our payment id stands in
    return this.state.finishCaptured(payment, {
      ...result,
      externalPaymentId: externalPaymentId ?? payment.id,
    });
  }
}
