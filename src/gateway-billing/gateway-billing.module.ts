import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { GatewaysModule } from '../gateways/gateways.module';
import { OutboxModule } from '../outbox/outbox.module';
import { PaymentsModule } from '../payments/payments.module';
import { GatewayBillingService } from './gateway-billing.service';
import { GatewaySubscriptionEntity } from './gateway-subscription.entity';

/** Gateway-managed billing (mode 2): subscriptions whose schedule the gateway runs, reported to Cleeng. */
@Module({
  imports: [
    TypeOrmModule.forFeature([GatewaySubscriptionEntity]),
    GatewaysModule,
    OutboxModule,
    PaymentsModule,
  ],
  providers: [GatewayBillingService],
  exports: [GatewayBillingService],
})
export class GatewayBillingModule {}
