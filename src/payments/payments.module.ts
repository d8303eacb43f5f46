import { Module } from '@nestjs/common';
import { GatewaysModule } from '../gateways/gateways.module';
import { OrdersModule } from '../orders/orders.module';
import { OutboxModule } from '../outbox/outbox.module';
import { PaymentDetailsModule } from '../payment-details/payment-details.module';
import { PaymentProcessor } from './payment-processor.service';
import { PaymentsController } from './payments.controller';
import { PaymentsService } from './payments.service';

@Module({
  imports: [OrdersModule, GatewaysModule, OutboxModule, PaymentDetailsModule],
  controllers: [PaymentsController],
  providers: [PaymentsService, PaymentProcessor],
  exports: [PaymentsService, PaymentProcessor],
})
export class PaymentsModule {}
