import { DynamicModule, Module, ModuleMetadata } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { AuthModule } from './auth/auth.module';
import { Clock } from './common/clock/clock';
import { CommonModule } from './common/common.module';
import { IdempotencyModule } from './common/idempotency/idempotency.module';
import { APP_CONFIG, AppConfig } from './config/app-config';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { OrdersModule } from './orders/orders.module';
import { OutboxModule } from './outbox/outbox.module';
import { PaymentsModule } from './payments/payments.module';
import { InboxModule } from './inbox/inbox.module';
import { PaymentDetailsModule } from './payment-details/payment-details.module';
import { RefundsModule } from './refunds/refunds.module';
import { WebhooksModule } from './webhooks/webhooks.module';
import { SubscriptionsModule } from './subscriptions/subscriptions.module';
import { PurchasesModule } from './purchases/purchases.module';
import { RebillingModule } from './rebilling/rebilling.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { DashboardModule } from './dashboard/dashboard.module';

export interface AppModuleOptions {
  /** the app's time source (default: the system clock); the sandbox passes its test clock */
  clock?: Clock;
  /** extra modules mounted beside the app's own (the sandbox's emulators) */
  modules?: NonNullable<ModuleMetadata['imports']>;
}

@Module({})
export class AppModule {
  /** The config is validated before the module is built: the database URL may come from the embedded child. */
  static forRoot(
    config: AppConfig & { databaseUrl: string; databasePoolSize: number },
    options: AppModuleOptions = {},
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
        ScheduleModule.forRoot(),
        DatabaseModule.forRoot(config.databaseUrl, config.databasePoolSize, {
          statementTimeoutMs: config.databaseStatementTimeoutMs,
          connectTimeoutMs: config.databaseConnectTimeoutMs,
          preparedStatements: config.databasePreparedStatements,
        }),
        CommonModule.forRoot(options.clock),
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
        DashboardModule,
        ...(options.modules ?? []),
      ],
    };
  }
}

@Module({})
class ConfigHolderModule {}
