import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import {
  CLEENG_PAYMENT_CREATE,
  CLEENG_PAYMENT_SUBSCRIPTION_LINK,
  paymentSubscriptionLinkReport,
} from '../cleeng/cleeng-reports';
import { CleengUnavailableError } from '../cleeng/cleeng.client';
import { CleengPayment } from '../cleeng/cleeng.types';
import { GatewayRegistry } from '../gateways/gateway.registry';
import { OrderEntity } from '../orders/order.entity';
import { OutboxService } from '../outbox/outbox.service';
import { PaymentEntity } from './payment.entity';
import { returnedRows } from '../common/database/query-result';
import { rowToEntity } from '../common/database/row-lock';

interface AcceptedPayment {
  cleengPaymentId: string;
  subscriptionId: string | null;
  detailsId: string | null;
}

function acceptedPayment(result: unknown): AcceptedPayment | undefined {
  const payment = (result as { payment?: CleengPayment } | undefined)?.payment;
  if (!payment) {
    return undefined;
  }
  const text = (value: number | string | null | undefined): string | null =>
    value === undefined || value === null ? null : String(value);
  return {
    cleengPaymentId: String(payment.id),
    subscriptionId: text(payment.subscriptionId),
    detailsId: text(payment.paymentDetailsId),
  };
}

/**
 * One statement's CTEs (`local`: the payment as updated): Cleeng's payment id, the subscription its payment created
 * (never overwritten) and its payment-details id on ours; only `when` holds, if given.
 */
function keepCleengIds(
  paymentId: string,
  accepted: AcceptedPayment,
  firstParam: number,
  when?: string,
): { ctes: string[]; params: unknown[] } {
  const [id, cleengId, subscriptionId, detailsId] = [0, 1, 2, 3].map((i) => `$${firstParam + i}`);
  return {
    ctes: [
      `local AS (
         UPDATE payments SET cleeng_payment_id = ${cleengId}, updated_at = now(),
           gateway_state = CASE
             WHEN ${subscriptionId}::text IS NULL OR coalesce(gateway_state, '{}'::jsonb) ? 'cleengSubscriptionId' THEN gateway_state
             ELSE coalesce(gateway_state, '{}'::jsonb) || jsonb_build_object('cleengSubscriptionId', ${subscriptionId}::text) END
         WHERE id = ${id}${when ? ` AND ${when}` : ''} RETURNING *)`,
      `details AS (
         UPDATE payment_details SET cleeng_payment_details_id = ${detailsId}, updated_at = now()
         FROM local WHERE ${detailsId}::text IS NOT NULL AND payment_details.id = local.payment_details_id)`,
    ],
    params: [paymentId, accepted.cleengPaymentId, accepted.subscriptionId, accepted.detailsId],
  };
}

/**
 * Once Cleeng accepted a payment report, keep its ids (payment, payment details) for later updates; later
 * reports name the payment by the Cleeng id resolved at send time.
 */
@Injectable()
export class CleengPaymentSync implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly outbox: OutboxService,
    private readonly gateways: GatewayRegistry,
  ) {}

  onModuleInit(): void {
    // A payment of a gateway that leaves the billing to Cleeng never needs the subscription lookup below (the common
    // case): its ids are kept by the statement that marks the report delivered. Any other payment (a gateway that
    // runs the billing, or one not enabled now) goes through the handler's transaction.
    const cleengBilledGateways = this.gateways
      .enabled()
      .filter((g) => !this.gateways.get(g).capabilities.gatewayManagedBilling);
    this.outbox.registerDeliveredWith(CLEENG_PAYMENT_CREATE, (paymentId, result, firstParam) => {
      const accepted = acceptedPayment(result);
      if (!accepted) {
        return { ctes: [], params: [] };
      }
      const keep = keepCleengIds(paymentId, accepted, firstParam, 'EXISTS (SELECT 1 FROM delivered)');
      const [id, cleengBilled] = [firstParam, firstParam + keep.params.length].map((n) => `$${n}`);
      return {
        deliverIf: `EXISTS (SELECT 1 FROM payments WHERE id = ${id} AND gateway = ANY(${cleengBilled}::text[]))`,
        ctes: keep.ctes,
        params: [...keep.params, cleengBilledGateways],
      };
    });
    this.outbox.registerResultHandler(CLEENG_PAYMENT_CREATE, async (manager, message, result) => {
      const accepted = acceptedPayment(result);
      if (!accepted) {
        return;
      }
      const keep = keepCleengIds(message.aggregateId, accepted, 1);
      const [row] = returnedRows<Record<string, unknown>>(
        await manager.query(`WITH ${keep.ctes.join(', ')} SELECT * FROM local`, keep.params),
      );
      if (row && accepted.subscriptionId === null) {
        await this.lookUpCleengSubscription(
          manager,
          rowToEntity<PaymentEntity>(this.db.getMetadata(PaymentEntity), row),
        );
      }
    });
    this.outbox.registerResultHandler(CLEENG_PAYMENT_SUBSCRIPTION_LINK, async (manager, message, result) => {
      const listed = (result as { data?: unknown } | undefined)?.data;
      const found = (Array.isArray(listed) ? (listed as ListedSubscription[]) : [])
        .filter((s) => s.subscriptionId !== undefined && s.latestPaymentExternalId === message.payload.ref)
        .map((s) => String(s.subscriptionId))[0];
      if (!found) {
        throw new CleengUnavailableError(
          `Cleeng lists no subscription created by payment ${message.payload.ref ?? '?'} yet`,
        );
      }
      await this.keepCleengSubscription(manager, message.aggregateId, found);
    });
    this.outbox.registerPathParam('cleengPaymentId', async (paymentId) => {
      const payment = await this.db.getRepository(PaymentEntity).findOneBy({ id: paymentId });
      return payment?.cleengPaymentId ?? null;
    });
  }

  /** The subscription Cleeng created with an initial payment: later reports about it name it (never overwritten). */
  private async keepCleengSubscription(
    manager: EntityManager,
    paymentId: string,
    cleengSubscriptionId: string,
  ): Promise<void> {
    await manager.query(
      `UPDATE payments SET gateway_state = coalesce(gateway_state, '{}'::jsonb) || jsonb_build_object('cleengSubscriptionId', $2::text)
       WHERE id = $1 AND NOT (coalesce(gateway_state, '{}'::jsonb) ? 'cleengSubscriptionId')`,
      [paymentId, cleengSubscriptionId],
    );
  }

  /**
   * A gateway that runs the billing schedule reports later cycles on the Cleeng subscription its initial payment
   * created; Cleeng's answer does not name it, so it is looked up (queued after this report).
   */
  private async lookUpCleengSubscription(manager: EntityManager, local: PaymentEntity): Promise<void> {
    if (
      !local.externalPaymentId ||
      local.status !== 'captured' ||
      local.operation !== 'initial-payment' ||
      !this.gateways.get(local.gateway).capabilities.gatewayManagedBilling
    ) {
      return;
    }
    const order = await manager.findOneByOrFail(OrderEntity, { id: local.orderId });
    await this.outbox.enqueue(
      manager,
      paymentSubscriptionLinkReport({
        paymentId: local.id,
        customerId: order.customerId,
        offerId: order.offerId,
        externalPaymentId: local.externalPaymentId,
      }),
    );
  }
}

interface ListedSubscription {
  subscriptionId?: number | string;
  latestPaymentExternalId?: string | null;
}
