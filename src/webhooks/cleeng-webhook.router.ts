import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { CleengClient, CleengUnavailableError } from '../cleeng/cleeng.client';
import {
  CapturePaymentData,
  PaymentDetailsDeactivatedData,
  RefundPaymentData,
  RenewalDueData,
  TerminationData,
} from '../cleeng/cleeng-webhook.types';
import { remotePaymentCancelReport, subscriptionTerminateReport } from '../cleeng/cleeng-reports';
import { CleengPayment } from '../cleeng/cleeng.types';
import { RetryLaterError } from '../common/errors/retry-later.error';
import { Money } from '../common/money/money';
import { callGateway } from '../gateways/gateway-call';
import { requireOperation } from '../gateways/gateway-operations';
import { GatewayRegistry } from '../gateways/gateway.registry';
import { InboxEventEntity } from '../inbox/inbox-event.entity';
import { InboxOutcome, InboxService } from '../inbox/inbox.service';
import { OutboxService } from '../outbox/outbox.service';
import { PaymentDetailsService } from '../payment-details/payment-details.service';
import { PaymentEntity } from '../payments/payment.entity';
import { PaymentStateService } from '../payments/payment-state.service';
import { RecurringBillingService } from '../payments/recurring-billing.service';
import { UnknownOutcomeReconciler } from '../payments/unknown-outcome.reconciler';
import { RefundsService } from '../refunds/refunds.service';
import { cleengRefundKey } from './cleeng-refund-identity';
import { findRefundedPayment } from './cleeng-refund-payment';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/**
 * Processes stored Cleeng webhooks (connector checklist): renewals, captures, terminations,
 * refunds and payment-detail deactivation. Events for payment methods of other connectors are
 * `ignored`. Every branch is safe to run again for the same event.
 */
@Injectable()
export class CleengWebhookRouter implements OnModuleInit {
  private readonly logger = new Logger(CleengWebhookRouter.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly inbox: InboxService,
    private readonly recurring: RecurringBillingService,
    private readonly refunds: RefundsService,
    private readonly details: PaymentDetailsService,
    private readonly paymentState: PaymentStateService,
    private readonly gateways: GatewayRegistry,
    private readonly cleeng: CleengClient,
    private readonly outbox: OutboxService,
    private readonly reconciler: UnknownOutcomeReconciler,
  ) {}

  onModuleInit(): void {
    this.inbox.registerHandler('cleeng', (event) => this.handle(event));
  }

  async handle(event: InboxEventEntity): Promise<InboxOutcome> {
    const data = (event.payload.data ?? {}) as Record<string, unknown>;
    switch (event.eventType) {
      case 'subscriptionReadyForPaymentAuthorisation':
        return this.recurring.renew(event.id, data as unknown as RenewalDueData, 'recurring-authorise');
      case 'subscriptionReadyForPaymentCapture': {
        const renewal = data as unknown as RenewalDueData;
        if (renewal.paymentId !== undefined && renewal.paymentId !== null) {
          return this.recurring.captureReported(String(renewal.paymentId), renewal.paymentMethodId);
        }
        return this.recurring.renew(event.id, renewal, 'recurring-charge');
      }
      case 'capturePayment': {
        const capture = data as unknown as CapturePaymentData;
        return this.recurring.captureReported(String(capture.paymentId), capture.paymentMethodId);
      }
      case 'subscriptionReadyForTermination':
        return this.terminate(event, data as unknown as TerminationData);
      case 'refundPayment':
        return this.refund(event, data as unknown as RefundPaymentData);
      case 'paymentDetailsDeactivated':
        return this.deactivate(data as unknown as PaymentDetailsDeactivatedData);
      default:
        return 'ignored';
    }
  }

  /** Terminate the subscription in Cleeng (PATCH /3.1/subscriptions/{id} status terminated). */
  private async terminate(event: InboxEventEntity, data: TerminationData): Promise<InboxOutcome> {
    if (data.paymentMethodId !== undefined && !this.recurring.gatewayFor(data.paymentMethodId)) {
      return 'ignored';
    }
    await this.db.transaction((manager) =>
      this.outbox.enqueue(manager, subscriptionTerminateReport(String(data.subscriptionId), event.id)),
    );
    this.outbox.notify();
    return 'done';
  }

  private async refund(event: InboxEventEntity, data: RefundPaymentData): Promise<InboxOutcome> {
    if (data.paymentMethodId !== undefined && !this.recurring.gatewayFor(data.paymentMethodId)) {
      return 'ignored';
    }
    const payment = await findRefundedPayment(
      this.db,
      data,
      data.paymentMethodId === undefined ? undefined : this.recurring.gatewayFor(data.paymentMethodId),
    );
    if (!payment) {
      throw new RetryLaterError(`no local payment for Cleeng payment ${String(data.paymentId)} yet`);
    }
    if (payment.status === 'unknown' && (await this.reconciler.reconcile(payment)).status === 'unknown') {
      throw new RetryLaterError(`payment ${payment.id} outcome unknown; resolve it before refunding`);
    }
    const amount =
      data.amount !== undefined && data.amount !== null
        ? Money.fromMajor(data.amount, data.currency ?? payment.currency)
        : undefined;
    await this.refunds.refund({
      payment,
      ...(amount ? { amount } : {}),
      ...(data.reason ? { reason: data.reason } : {}),
      source: 'cleeng',
      sourceKey: cleengRefundKey(data, amount),
      cleengPaymentId: String(data.paymentId),
    });
    return 'done';
  }

  /**
   * Old details connector: cancel every authorised payment of those details in the gateway and in
   * Cleeng (PATCH /payments/{id}/cancel), then delete the old details.
   */
  private async deactivate(data: PaymentDetailsDeactivatedData): Promise<InboxOutcome> {
    if (data.paymentMethodId !== undefined && !this.recurring.gatewayFor(data.paymentMethodId)) {
      return 'ignored';
    }
    const cleengDetailsId = String(data.paymentDetailsId);
    let authorised: CleengPayment[];
    try {
      const res = await this.cleeng.send<{ data?: CleengPayment[] }>(
        'GET',
        `/payment_details/${encodeURIComponent(cleengDetailsId)}/authorised_payments`,
      );
      authorised = res.data ?? [];
    } catch (err) {
      if (err instanceof CleengUnavailableError) {
        throw new RetryLaterError(`Cleeng unavailable: ${err.message}`);
      }
      throw err;
    }
    for (const remote of authorised) {
      await this.cancelAuthorised(String(remote.id));
    }
    await this.details.deactivateByCleengId(cleengDetailsId);
    return 'done';
  }

  private async cancelAuthorised(cleengPaymentId: string): Promise<void> {
    const payment = await this.db.getRepository(PaymentEntity).findOneBy({ cleengPaymentId });
    if (!payment) {
      // authorised elsewhere (or before this connector): Cleeng is still told to cancel it
      await this.db.transaction((manager) =>
        this.outbox.enqueue(manager, remotePaymentCancelReport(cleengPaymentId)),
      );
      return;
    }
    const current = payment.status === 'unknown' ? await this.reconciler.reconcile(payment) : payment;
    if (current.status === 'unknown' || current.status === 'pending') {
      throw new RetryLaterError(`payment ${current.id} is ${current.status}; resolve it before cancelling`);
    }
    if (current.status !== 'authorised' || !current.externalPaymentId) {
      return;
    }
    const externalPaymentId = current.externalPaymentId;
    const gateway = this.gateways.get(payment.gateway);
    const outcome = await callGateway(
      () =>
        requireOperation(
          gateway,
          'cancel',
        )({ idempotencyKey: `${payment.id}:cancel`, reference: payment.id, externalPaymentId }),
      { gateway: gateway.id, operation: 'cancel', subject: payment.id },
    );
    if (outcome.kind !== 'ok' || outcome.value.status === 'rejected') {
      throw new RetryLaterError(`cancel of payment ${payment.id} not confirmed by the gateway`);
    }
    await this.paymentState.markCancelled(payment, true);
    this.logger.log(`payment ${payment.id} cancelled after its payment details were deactivated`);
  }
}
