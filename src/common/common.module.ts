import { DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Clock, SystemClock } from './clock/clock';
import { TokenCipher } from './crypto/token-cipher';
import { ShutdownCoordinator } from './lifecycle/shutdown-coordinator';

/** Cross-cutting services every module may inject: the clock, the token cipher, the shutdown coordinator. */
@Module({})
export class CommonModule {
  /** `clock`: the app's time source; the system clock unless one is given (the sandbox's test clock). */
  static forRoot(clock: Clock = new SystemClock()): DynamicModule {
    return {
      module: CommonModule,
      global: true,
      imports: [DiscoveryModule],
      providers: [
        ShutdownCoordinator,
        { provide: Clock, useValue: clock },
        {
          provide: TokenCipher,
          useFactory: (config: AppConfig) => new TokenCipher(config.encryptionKey),
          inject: [APP_CONFIG],
        },
      ],
      exports: [Clock, TokenCipher, ShutdownCoordinator],
    };
  }
}
