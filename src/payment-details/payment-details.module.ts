import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PaymentDetailsAttemptEntity } from './payment-details-attempt.entity';
import { PaymentDetailsEntity } from './payment-details.entity';
import { GatewaysModule } from '../gateways/gateways.module';
import { OutboxModule } from '../outbox/outbox.module';
import { PaymentDetailsController } from './payment-details.controller';
import { PaymentDetailsService } from './payment-details.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([PaymentDetailsEntity, PaymentDetailsAttemptEntity]),
    GatewaysModule,
    OutboxModule,
  ],
  controllers: [PaymentDetailsController],
  providers: [PaymentDetailsService],
  exports: [PaymentDetailsService],
})
export class PaymentDetailsModule {}
