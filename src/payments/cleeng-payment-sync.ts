import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CLEENG_PAYMENT_CREATE } from '../cleeng/cleeng-reports';
import { CleengPayment } from '../cleeng/cleeng.types';
import { OutboxService } from '../outbox/outbox.service';
import { PaymentDetailsService } from '../payment-details/payment-details.service';
import { PaymentEntity } from './payment.entity';

/**
 * Once Cleeng accepted a payment report, keep its ids (payment, payment details) for later updates; later
 * reports name the payment by the Cleeng id resolved at send time.
 */
@Injectable()
export class CleengPaymentSync implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly details: PaymentDetailsService,
    private readonly outbox: OutboxService,
  ) {}

  onModuleInit(): void {
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
      if (payment.subscriptionId !== undefined && payment.subscriptionId !== null) {
        // the subscription Cleeng created with an initial payment: later reports about it name it (never overwritten)
        await manager.query(
          `UPDATE payments SET gateway_state = coalesce(gateway_state, '{}'::jsonb) || jsonb_build_object('cleengSubscriptionId', $2::text)
           WHERE id = $1 AND NOT (coalesce(gateway_state, '{}'::jsonb) ? 'cleengSubscriptionId')`,
          [message.aggregateId, String(payment.subscriptionId)],
        );
      }
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
}
