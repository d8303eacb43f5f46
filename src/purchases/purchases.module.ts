import { Module } from '@nestjs/common';
import { GatewaysModule } from '../gateways/gateways.module';
import { SubscriptionsModule } from '../subscriptions/subscriptions.module';
import { PurchasesController } from './purchases.controller';
import { PurchasesService } from './purchases.service';

@Module({
  imports: [GatewaysModule, SubscriptionsModule],
  controllers: [PurchasesController],
  providers: [PurchasesService],
  exports: [PurchasesService],
})
export class PurchasesModule {}
