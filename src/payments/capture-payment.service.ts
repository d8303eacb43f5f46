import { Injectable, Logger } from '@nestjs/common';
import { DomainError } from '../common/errors/domain-error';
import { Money } from '../common/money/money';
import { decline as makeDecline, Decline } from '../gateways/decline-codes';
import { callGateway } from '../gateways/gateway-call';
import { requireOperation } from '../gateways/gateway-operations';
import { GatewayProvider, PaymentResult } from '../gateways/gateway.provider';
import { PaymentEntity } from './payment.entity';
import { PaymentStateService } from './payment-state.service';

/**
 * Capture of an authorised payment (initial purchase right after its authorisation, or a renewal Cleeng asks to
 * capture). The capture key is fixed per payment, so a replay after a crash or a timeout captures at most once.
 */
@Injectable()
export class CapturePaymentService {
  private readonly logger = new Logger(CapturePaymentService.name);

  constructor(private readonly state: PaymentStateService) {}

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
        requireOperation(
          gateway,
          'capture',
        )({
          idempotencyKey: `${payment.id}:capture`,
          reference: payment.id,
          externalPaymentId,
          amount,
        }),
      { gateway: gateway.id, operation: 'capture', subject: payment.id },
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
        return this.state.finishCaptured(
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
        return this.state.update(payment.id, 'unknown', {
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
          requireOperation(
            gateway,
            'cancel',
          )({
            idempotencyKey: `${payment.id}:cancel`,
            reference: payment.id,
            externalPaymentId,
          }),
        { gateway: gateway.id, operation: 'cancel', subject: payment.id },
      );
      if (cancelled.kind !== 'ok') {
        this.logger.error(
          `payment ${payment.id}: capture failed and the authorisation could not be cancelled`,
        );
      }
    }
    return this.state.reject(payment, decline, payment.externalPaymentId);
  }
}
