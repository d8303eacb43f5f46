import { Module } from '@nestjs/common';
import { GatewaysModule } from '../gateways/gateways.module';
import { OrdersModule } from '../orders/orders.module';
import { OutboxModule } from '../outbox/outbox.module';
import { PaymentDetailsModule } from '../payment-details/payment-details.module';
import { PaymentProcessor } from './payment-processor.service';
import { RecurringBillingService } from './recurring-billing.service';
import { UnknownOutcomeReconciler } from './unknown-outcome.reconciler';
import { CleengModule } from '../cleeng/cleeng.module';
import { PaymentsController } from './payments.controller';
import { PaymentsService } from './payments.service';

@Module({
  imports: [OrdersModule, GatewaysModule, OutboxModule, PaymentDetailsModule, CleengModule],
  controllers: [PaymentsController],
  providers: [PaymentsService, PaymentProcessor, RecurringBillingService, UnknownOutcomeReconciler],
  exports: [PaymentsService, PaymentProcessor, RecurringBillingService, UnknownOutcomeReconciler],
})
export class PaymentsModule {}
