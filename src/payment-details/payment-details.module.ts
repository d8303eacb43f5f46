import { Module } from '@nestjs/common';
import { PaymentDetailsService } from './payment-details.service';

@Module({
  providers: [PaymentDetailsService],
  exports: [PaymentDetailsService],
})
export class PaymentDetailsModule {}
