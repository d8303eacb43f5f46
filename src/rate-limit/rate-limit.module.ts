import { ExecutionContext, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { CallerThrottlerGuard } from './caller-throttler.guard';
import { TOKENISE_LIMITED, TOKENISE_THROTTLER } from './rate-limit.decorators';
import { WindowCounterThrottlerStorage } from './window-counter.storage';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

function isTokenising(context: ExecutionContext): boolean {
  return Reflect.getMetadata(TOKENISE_LIMITED, context.getHandler()) === true;
}

/**
 * Every route is limited per caller (RATE_LIMIT_PER_MINUTE) unless marked @NoRateLimit();
 * zero-amount tokenisation also has an hourly limit (TOKENISE_RATE_LIMIT_PER_HOUR). Counters are
 * in memory, per instance: with N instances a caller gets up to N times the limit. One counter per caller and
 * window, so a request costs the same whatever the limit (window-counter.storage.ts).
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        storage: new WindowCounterThrottlerStorage(),
        throttlers: [
          { name: 'default', ttl: MINUTE_MS, limit: config.rateLimit.perMinute },
          {
            name: TOKENISE_THROTTLER,
            ttl: HOUR_MS,
            limit: config.rateLimit.tokenisePerHour,
            skipIf: (context: ExecutionContext) => !isTokenising(context),
          },
        ],
      }),
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: CallerThrottlerGuard }],
})
export class RateLimitModule {}
