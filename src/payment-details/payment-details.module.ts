import { Module } from '@nestjs/common';
import { GatewaysModule } from '../gateways/gateways.module';
import { OutboxModule } from '../outbox/outbox.module';
import { PaymentDetailsController } from './payment-details.controller';
import { PaymentDetailsService } from './payment-details.service';

@Module({
  imports: [GatewaysModule, OutboxModule],
  controllers: [PaymentDetailsController],
  providers: [PaymentDetailsService],
  exports: [PaymentDetailsService],
})
export class PaymentDetailsModule {}
