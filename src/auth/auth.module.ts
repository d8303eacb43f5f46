import { Global, Module } from '@nestjs/common';
import { ApiKeyIds } from './api-key-ids';
import { AuthGuard } from './auth.guard';
import { JwksVerifier, jwksVerifierProvider } from './jwks-verifier';

@Global()
@Module({
  providers: [jwksVerifierProvider, AuthGuard, ApiKeyIds],
  exports: [JwksVerifier, AuthGuard, ApiKeyIds],
})
export class AuthModule {}
