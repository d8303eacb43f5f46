import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Clock, SystemClock } from './clock/clock';
import { TokenCipher } from './crypto/token-cipher';

/** Cross-cutting services every module may inject: the clock and the token cipher. */
@Global()
@Module({
  providers: [
    { provide: Clock, useClass: SystemClock },
    {
      provide: TokenCipher,
      useFactory: (config: AppConfig) => new TokenCipher(config.encryptionKey),
      inject: [APP_CONFIG],
    },
  ],
  exports: [Clock, TokenCipher],
})
export class CommonModule {}
