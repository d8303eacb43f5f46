import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConnectorSubscriptionEntity } from './subscription.entity';
import { GatewaysModule } from '../gateways/gateways.module';
import { PaymentDetailsModule } from '../payment-details/payment-details.module';
import { SubscriptionsController } from './subscriptions.controller';
import { SubscriptionsService } from './subscriptions.service';
import { OutboxModule } from '../outbox/outbox.module';
import { ExternallyManagedReports } from './externally-managed-reports';

@Module({
  imports: [
    TypeOrmModule.forFeature([ConnectorSubscriptionEntity]),
    GatewaysModule,
    PaymentDetailsModule,
    OutboxModule,
  ],
  controllers: [SubscriptionsController],
  providers: [SubscriptionsService, ExternallyManagedReports],
  exports: [SubscriptionsService, ExternallyManagedReports],
})
export class SubscriptionsModule {}
