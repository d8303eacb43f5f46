import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { IdempotencyRecordEntity } from '../common/idempotency/idempotency-record.entity';
import { OrderEntity } from '../orders/order.entity';
import { OutboxMessageEntity } from '../outbox/outbox-message.entity';
import { PaymentDetailsEntity } from '../payment-details/payment-details.entity';
import { PaymentEntity } from '../payments/payment.entity';
import { InboxEventEntity } from '../inbox/inbox-event.entity';
import { RefundEntity } from '../refunds/refund.entity';
import { ConnectorSubscriptionEntity } from '../subscriptions/subscription.entity';
import { RebillAttemptEntity } from '../rebilling/rebill-attempt.entity';
import { PurchaseEntity } from '../purchases/purchase.entity';
import { MIGRATIONS } from '../../migrations';

export const ENTITIES = [
  OrderEntity,
  PaymentEntity,
  PaymentDetailsEntity,
  IdempotencyRecordEntity,
  OutboxMessageEntity,
  InboxEventEntity,
  RefundEntity,
  ConnectorSubscriptionEntity,
  RebillAttemptEntity,
  PurchaseEntity,
];

/** One code path for both databases: the `pg` driver to a URL (the machine's PostgreSQL or embedded PGlite). */
@Module({})
export class DatabaseModule {
  static forRoot(url: string, poolSize: number): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRoot({
          type: 'postgres',
          url,
          entities: ENTITIES,
          migrations: MIGRATIONS,
          migrationsRun: true,
          migrationsTransactionMode: 'each',
          synchronize: false,
          // PGlite has no uuid-ossp; we only use gen_random_uuid()
          installExtensions: false,
          extra: { max: poolSize },
          // failures surface as exceptions and are logged once by the exception filter
          logging: false,
        }),
      ],
    };
  }
}
