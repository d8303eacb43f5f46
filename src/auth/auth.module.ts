import { Global, Module } from '@nestjs/common';
import { AuthGuard } from './auth.guard';
import { JwksVerifier } from './jwks-verifier';

@Global()
@Module({
  providers: [JwksVerifier, AuthGuard],
  exports: [JwksVerifier, AuthGuard],
})
export class AuthModule {}
