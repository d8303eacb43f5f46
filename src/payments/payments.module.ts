import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PaymentEntity } from './payment.entity';
import { GatewaysModule } from '../gateways/gateways.module';
import { OrdersModule } from '../orders/orders.module';
import { OutboxModule } from '../outbox/outbox.module';
import { PaymentDetailsModule } from '../payment-details/payment-details.module';
import { CapturePaymentService } from './capture-payment.service';
import { CleengPaymentSync } from './cleeng-payment-sync';
import { PaymentProcessor } from './payment-processor.service';
import { PaymentStateService } from './payment-state.service';
import { RecurringBillingService } from './recurring-billing.service';
import { UnknownOutcomeReconciler } from './unknown-outcome.reconciler';
import { CleengModule } from '../cleeng/cleeng.module';
import { PaymentsController } from './payments.controller';
import { PaymentsService } from './payments.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([PaymentEntity]),
    OrdersModule,
    GatewaysModule,
    OutboxModule,
    PaymentDetailsModule,
    CleengModule,
  ],
  controllers: [PaymentsController],
  providers: [
    PaymentsService,
    PaymentStateService,
    PaymentProcessor,
    CapturePaymentService,
    CleengPaymentSync,
    RecurringBillingService,
    UnknownOutcomeReconciler,
  ],
  exports: [
    PaymentsService,
    PaymentStateService,
    PaymentProcessor,
    RecurringBillingService,
    UnknownOutcomeReconciler,
  ],
})
export class PaymentsModule {}
