import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RebillAttemptEntity } from './rebill-attempt.entity';
import { GatewaysModule } from '../gateways/gateways.module';
import { OutboxModule } from '../outbox/outbox.module';
import { PaymentDetailsModule } from '../payment-details/payment-details.module';
import { PurchasesModule } from '../purchases/purchases.module';
import { SubscriptionsModule } from '../subscriptions/subscriptions.module';
import { ConnectorEventsHandler } from './connector-events.handler';
import { RebillingController } from './rebilling.controller';
import { RebillingScheduler } from './rebilling.scheduler';
import { RebillingService } from './rebilling.service';
import { RebillAttempts } from './rebill-attempts';
import { RebillClaims } from './rebill-claims';
import { RebillFaultPoints } from './rebill-fault-points';
import { RebillOutcomeWriter } from './rebill-outcome.writer';

/**
 * Connector-managed rebilling: the tick, the pass, and the handler for Cleverbridge notifications about
 * connector-managed subscriptions and purchases. Global so the gateway events router (WebhooksModule) can
 * hand those notifications over without the webhook module depending on the domain modules.
 */
@Global()
@Module({
  imports: [
    TypeOrmModule.forFeature([RebillAttemptEntity]),
    GatewaysModule,
    OutboxModule,
    PaymentDetailsModule,
    SubscriptionsModule,
    PurchasesModule,
  ],
  controllers: [RebillingController],
  providers: [
    RebillingService,
    RebillClaims,
    RebillAttempts,
    RebillOutcomeWriter,
    RebillFaultPoints,
    RebillingScheduler,
    ConnectorEventsHandler,
  ],
  exports: [RebillingService, ConnectorEventsHandler],
})
export class RebillingModule {}
