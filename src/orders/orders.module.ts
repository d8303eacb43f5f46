import { Module } from '@nestjs/common';
import { CleengModule } from '../cleeng/cleeng.module';
import { GatewaysModule } from '../gateways/gateways.module';
import { OrdersController } from './orders.controller';
import { OrdersService } from './orders.service';

@Module({
  imports: [CleengModule, GatewaysModule],
  controllers: [OrdersController],
  providers: [OrdersService],
  exports: [OrdersService],
})
export class OrdersModule {}
