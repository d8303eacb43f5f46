import { Module } from '@nestjs/common';
import { CleengModule } from '../cleeng/cleeng.module';
import { GatewayBillingModule } from '../gateway-billing/gateway-billing.module';
import { GatewaysModule } from '../gateways/gateways.module';
import { InboxModule } from '../inbox/inbox.module';
import { OutboxModule } from '../outbox/outbox.module';
import { PaymentDetailsModule } from '../payment-details/payment-details.module';
import { PaymentsModule } from '../payments/payments.module';
import { RefundsModule } from '../refunds/refunds.module';
import { CleengWebhookController } from './cleeng-webhook.controller';
import { CleengWebhookRouter } from './cleeng-webhook.router';
import { GatewayEventsRouter } from './gateway-events.router';
import { GatewayWebhooksController } from './gateway-webhooks.controller';
import { WebhookIntake } from './webhook-intake';

/**
 * Webhook routes (verify, store in the inbox, acknowledge) and the routers that process stored
 * events with the domain services. Kept apart from the domain modules so none of them depends on another.
 */
@Module({
  imports: [
    InboxModule,
    CleengModule,
    GatewaysModule,
    OutboxModule,
    PaymentsModule,
    RefundsModule,
    PaymentDetailsModule,
    GatewayBillingModule,
  ],
  controllers: [CleengWebhookController, GatewayWebhooksController],
  providers: [CleengWebhookRouter, GatewayEventsRouter, WebhookIntake],
  exports: [WebhookIntake],
})
export class WebhooksModule {}
