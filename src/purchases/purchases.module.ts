import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PurchaseEntity } from './purchase.entity';
import { GatewaysModule } from '../gateways/gateways.module';
import { SubscriptionsModule } from '../subscriptions/subscriptions.module';
import { PurchasesController } from './purchases.controller';
import { PurchaseReconciler } from './purchase.reconciler';
import { PurchasesService } from './purchases.service';

@Module({
  imports: [TypeOrmModule.forFeature([PurchaseEntity]), GatewaysModule, SubscriptionsModule],
  controllers: [PurchasesController],
  providers: [PurchasesService, PurchaseReconciler],
  exports: [PurchasesService],
})
export class PurchasesModule {}
