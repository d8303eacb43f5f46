import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConnectorSubscriptionEntity } from './subscription.entity';
import { GatewaysModule } from '../gateways/gateways.module';
import { PaymentDetailsModule } from '../payment-details/payment-details.module';
import { SubscriptionsController } from './subscriptions.controller';
import { SubscriptionsService } from './subscriptions.service';

@Module({
  imports: [TypeOrmModule.forFeature([ConnectorSubscriptionEntity]), GatewaysModule, PaymentDetailsModule],
  controllers: [SubscriptionsController],
  providers: [SubscriptionsService],
  exports: [SubscriptionsService],
})
export class SubscriptionsModule {}
