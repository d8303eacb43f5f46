import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CleengClient } from '../cleeng/cleeng.client';
import { RenewalDueData } from '../cleeng/cleeng-webhook.types';
import { RetryLaterError } from '../common/errors/retry-later.error';
import { Money } from '../common/money/money';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { gatewayOfPaymentMethod } from '../config/payment-methods';
import { decline } from '../gateways/decline-codes';
import { requireOperation } from '../gateways/gateway-operations';
import { GatewayRegistry } from '../gateways/gateway.registry';
import { GatewayId } from '../gateways/gateway-ids';
import { OrderEntity } from '../orders/order.entity';
import { OrdersService } from '../orders/orders.service';
import { PaymentDetailsEntity } from '../payment-details/payment-details.entity';
import { PaymentDetailsService } from '../payment-details/payment-details.service';
import { callGateway } from '../gateways/gateway-call';
import { PaymentEntity, PaymentFlow } from './payment.entity';
import { PaymentProcessor } from './payment-processor.service';
import { PaymentStateService } from './payment-state.service';
import { CapturePaymentService } from './capture-payment.service';
import { shopperReference } from '../payment-details/shopper-reference';
import { UnknownOutcomeReconciler } from './unknown-outcome.reconciler';
import { rowToEntity } from '../common/database/row-lock';

export type RenewalOutcome = 'done' | 'ignored';

const FINAL: PaymentEntity['status'][] = [
  'captured',
  'partially_refunded',
  'refunded',
  'rejected',
  'cancelled',
];

/**
 * Cleeng-managed recurring billing (billing mode 1): Cleeng's dunning fires renewal webhooks, we
 * create the recurring order, charge the stored token as a merchant-initiated payment and report.
 * Every step is re-entrant: processing the same inbox event again continues where it stopped
 * (same Cleeng order, same payment, same gateway idempotency keys), so nothing is charged twice.
 */
@Injectable()
export class RecurringBillingService {
  private readonly logger = new Logger(RecurringBillingService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly cleeng: CleengClient,
    private readonly gateways: GatewayRegistry,
    private readonly processor: PaymentProcessor,
    private readonly paymentState: PaymentStateService,
    private readonly captures: CapturePaymentService,
    private readonly details: PaymentDetailsService,
    private readonly reconciler: UnknownOutcomeReconciler,
    private readonly orders: OrdersService,
  ) {}

  /** The gateway this Cleeng paymentMethodId belongs to, if it is ours. */
  gatewayFor(paymentMethodId: unknown): GatewayId | undefined {
    const gateway = gatewayOfPaymentMethod(this.config.cleeng.paymentMethods, paymentMethodId);
    return gateway !== undefined && this.gateways.enabled().includes(gateway) ? gateway : undefined;
  }

  /**
   * `subscriptionReadyForPaymentAuthorisation` (flow recurring-authorise) or capture-only
   * `subscriptionReadyForPaymentCapture` (flow recurring-charge).
   */
  async renew(
    eventId: string,
    data: RenewalDueData,
    flow: Exclude<PaymentFlow, 'initial'>,
  ): Promise<RenewalOutcome> {
    const gatewayId = this.gatewayFor(data.paymentMethodId);
    if (!gatewayId) {
      return 'ignored';
    }
    const gateway = this.gateways.get(gatewayId);
    const { order, inserted } = await this.recurringOrder(eventId, data, gatewayId);
    const cleengPaymentDetailsId =
      data.paymentDetailsId === undefined ? undefined : String(data.paymentDetailsId);
    const stored = await this.storedDetails(
      cleengPaymentDetailsId,
      String(data.customerId),
      gatewayId,
      data.token,
    );

    // an order this attempt just inserted has no payment yet: only an earlier attempt's order is looked at
    const latest: Record<string, unknown>[] = inserted
      ? []
      : await this.db.query(`SELECT * FROM payments WHERE order_id = $1 ORDER BY created_at DESC LIMIT 1`, [
          order.id,
        ]);
    let payment = latest[0]
      ? rowToEntity<PaymentEntity>(this.db.getMetadata(PaymentEntity), latest[0])
      : null;
    if (
      payment &&
      (FINAL.includes(payment.status) || (payment.status === 'authorised' && flow === 'recurring-authorise'))
    ) {
      return 'done'; // already settled by an earlier attempt of this event
    }
    payment ??= await this.paymentState.insertPending(
      order,
      'recurring-payment',
      {
        flow,
        cleengSubscriptionId: String(data.subscriptionId),
        ...(cleengPaymentDetailsId ? { cleengPaymentDetailsId } : {}),
      },
      undefined,
      stored?.entity.id ?? null,
    );
    if (!stored) {
      await this.paymentState.reject(
        payment,
        decline('PAY_DEC', {
          code: 'NO_PAYMENT_DETAILS',
          reason: 'no stored payment details for this subscription',
        }),
      );
      return 'done';
    }
    const pending = payment;
    const mode = flow === 'recurring-authorise' ? 'authorise' : 'charge';
    const outcome = await callGateway(
      () => {
        const input = {
          idempotencyKey: `${pending.id}:${mode}`,
          reference: pending.id,
          amount: Money.of(order.amountMinor, order.currency),
          customer: { reference: stored.entity.shopperReference, country: order.country },
          source: { kind: 'stored' as const, token: stored.token },
          initiator: 'merchant' as const,
          storeForRecurring: false,
          returnUrl: `${this.config.publicUrl}/v1/payments/${pending.id}/return`,
        };
        return requireOperation(gateway, mode === 'authorise' ? 'authorise' : 'charge')(input);
      },
      { gateway: gateway.id, operation: mode, subject: pending.id },
    );
    const settled = await this.processor.settle(pending, gateway, mode, outcome);
    if (settled.status === 'unknown') {
      // the reconciler replays the call under the same key; the event itself is done
      this.logger.warn(`renewal ${eventId}: payment ${settled.id} outcome unknown, left to the reconciler`);
    }
    return 'done';
  }

  /**
   * `subscriptionReadyForPaymentCapture` with a paymentId, or `capturePayment`: capture the authorised
   * payment Cleeng names and PATCH it captured (or rejected).
   */
  async captureReported(cleengPaymentId: string, paymentMethodId: unknown): Promise<RenewalOutcome> {
    if (paymentMethodId !== undefined && !this.gatewayFor(paymentMethodId)) {
      return 'ignored';
    }
    const payment = await this.db.getRepository(PaymentEntity).findOneBy({ cleengPaymentId });
    if (!payment) {
      // our report of that payment may not have been delivered yet (or it is another connector's)
      throw new RetryLaterError(`no local payment for Cleeng payment ${cleengPaymentId} yet`);
    }
    // an unknown outcome is resolved before anything else touches the payment
    const current = payment.status === 'unknown' ? await this.reconciler.reconcile(payment) : payment;
    if (current.status === 'unknown' || current.status === 'pending') {
      throw new RetryLaterError(`payment ${current.id} is ${current.status}; resolve it before capturing`);
    }
    if (current.status !== 'authorised') {
      return FINAL.includes(current.status) ? 'done' : 'ignored';
    }
    await this.captures.capture(current, this.gateways.get(current.gateway));
    return 'done';
  }

  /** The event's order: the one an earlier attempt made (`inserted` false), else made now at Cleeng and mirrored. */
  private async recurringOrder(
    eventId: string,
    data: RenewalDueData,
    gateway: GatewayId,
  ): Promise<{ order: OrderEntity; inserted: boolean }> {
    const existing = await this.orders.findBySourceEvent(eventId);
    if (existing) {
      return { order: existing, inserted: false };
    }
    const paymentMethodId = Number(data.paymentMethodId);
    const order = await this.cleeng.createOrder(
      {
        customerId: Number(data.customerId),
        offerId: data.offerId,
        currency: data.currency,
        country: data.paymentCountry,
        paymentMethodId,
        paymentOperation: 'recurring-payment',
        subscriptionId: String(data.subscriptionId),
      },
      `order:event:${eventId}`,
    );
    return this.orders.mirrorNoting(order, {
      gateway,
      paymentMethodId,
      paymentOperation: 'recurring-payment',
      cleengSubscriptionId: String(data.subscriptionId),
      sourceEventId: eventId,
    });
  }

  /** Our stored token for Cleeng's payment details; else the token Cleeng sent (kept for next time). */
  private async storedDetails(
    cleengPaymentDetailsId: string | undefined,
    customerId: string,
    gateway: GatewayId,
    tokenFromCleeng: string | undefined,
  ): Promise<{ entity: PaymentDetailsEntity; token: string } | undefined> {
    const rows: Record<string, unknown>[] = cleengPaymentDetailsId
      ? await this.db.query(`SELECT * FROM payment_details WHERE cleeng_payment_details_id = $1`, [
          cleengPaymentDetailsId,
        ])
      : [];
    const local = rows[0]
      ? rowToEntity<PaymentDetailsEntity>(this.db.getMetadata(PaymentDetailsEntity), rows[0])
      : null;
    if (local && local.status !== 'deleted') {
      return { entity: local, token: this.details.revealToken(local) };
    }
    if (!tokenFromCleeng) {
      return undefined;
    }
    const entity = await this.db.transaction((manager) =>
      this.details.create(manager, {
        customerId,
        gateway,
        shopperReference: shopperReference(customerId),
        token: tokenFromCleeng,
        card: {},
        ...(cleengPaymentDetailsId ? { cleengPaymentDetailsId } : {}),
      }),
    );
    return { entity, token: tokenFromCleeng };
  }
}
