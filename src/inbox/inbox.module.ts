import { Module } from '@nestjs/common';
import { GatewaysModule } from '../gateways/gateways.module';
import { GatewayWebhooksController } from './gateway-webhooks.controller';
import { InboxController } from './inbox.controller';
import { InboxService } from './inbox.service';
import { InboxWorker } from './inbox.worker';

@Module({
  imports: [GatewaysModule],
  controllers: [InboxController, GatewayWebhooksController],
  providers: [InboxService, InboxWorker],
  exports: [InboxService, InboxWorker],
})
export class InboxModule {}
