import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RefundEntity } from './refund.entity';
import { GatewaysModule } from '../gateways/gateways.module';
import { OrdersModule } from '../orders/orders.module';
import { OutboxModule } from '../outbox/outbox.module';
import { PaymentsModule } from '../payments/payments.module';
import { RefundsController } from './refunds.controller';
import { RefundReconciler } from './refund.reconciler';
import { RefundsService } from './refunds.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([RefundEntity]),
    PaymentsModule,
    OrdersModule,
    GatewaysModule,
    OutboxModule,
  ],
  controllers: [RefundsController],
  providers: [RefundsService, RefundReconciler],
  exports: [RefundsService],
})
export class RefundsModule {}
