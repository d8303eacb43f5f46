import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, LessThanOrEqual } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { PollingWorker } from '../common/polling-worker';
import { Money } from '../common/money/money';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { decline } from '../gateways/decline-codes';
import { requireOperation } from '../gateways/gateway-operations';
import { callGateway } from '../gateways/gateway-call';
import { GatewayRegistry } from '../gateways/gateway.registry';
import { PaymentDetailsEntity } from '../payment-details/payment-details.entity';
import { PaymentDetailsService } from '../payment-details/payment-details.service';
import { PaymentEntity } from './payment.entity';
import { PaymentProcessor } from './payment-processor.service';
import { PaymentStateService } from './payment-state.service';
import { CapturePaymentService } from './capture-payment.service';

export interface ReconcileSummary {
  checked: number;
  resolved: number;
}

/**
 * Resolves payments whose gateway outcome is `unknown` by asking again under the SAME idempotency
 * key (the gateway answers with its first result), never by assuming a decline. Merchant-initiated
 * calls and captures can be replayed from what we store; a customer-initiated authorisation cannot
 * (card data is never stored), so it waits for the gateway's notification and, past
 * RECONCILE_CANCEL_AFTER_MS, is cancelled by reference and reported rejected (GW_TIMEOUT).
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
    const cutoff = new Date(this.clock.now().getTime() - this.config.reconciler.unknownAfterMs);
    const payments = await this.db.getRepository(PaymentEntity).find({
      where: { status: 'unknown', updatedAt: LessThanOrEqual(cutoff) },
      order: { updatedAt: 'ASC' },
      take: 50,
    });
    let resolved = 0;
    for (const payment of payments) {
      if (this.stopped) {
        break; // shutting down: nothing is claimed, the next pass (any instance) takes the rest
      }
      try {
        if ((await this.reconcile(payment)).status !== 'unknown') {
          resolved += 1;
        }
      } catch (err) {
        this.logger.error(
          `reconciling payment ${payment.id} failed: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    return { checked: payments.length, resolved };
  }

  /** One unknown payment: replay what can be replayed; returns the payment as it stands after. */
  async reconcile(payment: PaymentEntity): Promise<PaymentEntity> {
    if (payment.status !== 'unknown') {
      return payment;
    }
    const gateway = this.gateways.get(payment.gateway);
    const operation = payment.gatewayState?.pendingOperation;
    const flow = payment.gatewayState?.flow ?? 'initial';
    if (operation === 'capture') {
      return this.captures.capture(payment, gateway);
    }
    if (
      flow !== 'initial' &&
      (operation === 'authorise' || operation === 'charge') &&
      payment.paymentDetailsId
    ) {
      const stored = await this.db
        .getRepository(PaymentDetailsEntity)
        .findOneByOrFail({ id: payment.paymentDetailsId });
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
          return requireOperation(gateway, operation === 'authorise' ? 'authorise' : 'charge')(input);
        },
        { gateway: gateway.id, operation: operation },
      );
      return this.processor.settle(payment, gateway, operation, outcome);
    }
    const age = this.clock.now().getTime() - payment.createdAt.getTime();
    if (age < this.config.reconciler.cancelAfterMs || !gateway.cancelByReference) {
      return payment; // the gateway's notification (AUTHORISATION) will settle it
    }
    const cancel = gateway.cancelByReference.bind(gateway);
    const outcome = await callGateway(
      () => cancel({ idempotencyKey: `${payment.id}:void`, reference: payment.id }),
      { gateway: gateway.id, operation: 'cancelByReference' },
    );
    if (outcome.kind !== 'ok') {
      return payment;
    }
    this.logger.warn(
      `payment ${payment.id}: no outcome after ${Math.round(age / 1000)} s, cancelled by reference`,
    );
    return this.paymentState.reject(
      payment,
      decline('GW_TIMEOUT', { reason: 'no answer from the gateway; cancelled' }),
    );
  }
}
