import { Global, Module } from '@nestjs/common';
import { AuthGuard } from './auth.guard';
import { JwksVerifier, jwksVerifierProvider } from './jwks-verifier';

@Global()
@Module({
  providers: [jwksVerifierProvider, AuthGuard],
  exports: [JwksVerifier, AuthGuard],
})
export class AuthModule {}
