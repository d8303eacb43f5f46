import { DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { AuthModule } from './auth/auth.module';
import { CommonModule } from './common/common.module';
import { IdempotencyModule } from './common/idempotency/idempotency.module';
import { APP_CONFIG, AppConfig } from './config/app-config';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { loggerOptions } from './logger';
import { OrdersModule } from './orders/orders.module';
import { OutboxModule } from './outbox/outbox.module';
import { PaymentsModule } from './payments/payments.module';
import { InboxModule } from './inbox/inbox.module';
import { PaymentDetailsModule } from './payment-details/payment-details.module';
import { RefundsModule } from './refunds/refunds.module';
import { WebhooksModule } from './webhooks/webhooks.module';
import { SandboxModule } from './sandbox/sandbox.module';
import { SubscriptionsModule } from './subscriptions/subscriptions.module';
import { PurchasesModule } from './purchases/purchases.module';
import { RebillingModule } from './rebilling/rebilling.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';

@Module({})
export class AppModule {
  /** The config is validated before the module is built: the database URL may come from the embedded child. */
  static forRoot(
    config: AppConfig & { databaseUrl: string; databasePoolSize: number },
    logDestination?: DestinationStream,
  ): DynamicModule {
    return {
      module: AppModule,
      imports: [
        {
          module: ConfigHolderModule,
          global: true,
          providers: [{ provide: APP_CONFIG, useValue: config }],
          exports: [APP_CONFIG],
        },
        LoggerModule.forRoot(loggerOptions(config, logDestination)),
        ScheduleModule.forRoot(),
        DatabaseModule.forRoot(config.databaseUrl, config.databasePoolSize, {
          statementTimeoutMs: config.databaseStatementTimeoutMs,
          connectTimeoutMs: config.databaseConnectTimeoutMs,
        }),
        CommonModule,
        AuthModule,
        IdempotencyModule,
        RateLimitModule,
        HealthModule,
        OutboxModule,
        OrdersModule,
        PaymentsModule,
        PaymentDetailsModule,
        RefundsModule,
        InboxModule,
        WebhooksModule,
        SubscriptionsModule,
        PurchasesModule,
        RebillingModule,
        ...(config.sandbox ? [SandboxModule] : []),
      ],
    };
  }
}

@Module({})
class ConfigHolderModule {}
