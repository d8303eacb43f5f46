import { CanActivate, ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DomainError } from '../common/errors/domain-error';
import { constantTimeEqual } from '../common/crypto/constant-time';
import { ApiKeyIds } from './api-key-ids';
import { InvalidTokenError, JwksVerifier } from './jwks-verifier';
import { Principal } from './principal';

export type Audience = 'api-or-customer' | 'api' | 'operator';
export const AUDIENCE = 'auth:audience';
/** Who may call a controller or route. Default for guarded controllers: API key or customer JWT. */
export const Audience = (audience: Audience): MethodDecorator & ClassDecorator =>
  SetMetadata(AUDIENCE, audience);

export type AuthenticatedRequest = Request & { principal: Principal };

@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jwks: JwksVerifier,
    private readonly reflector: Reflector,
    private readonly apiKeyIds: ApiKeyIds,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const audience =
      this.reflector.getAllAndOverride<Audience | undefined>(AUDIENCE, [
        context.getHandler(),
        context.getClass(),
      ]) ?? 'api-or-customer';
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    req.principal = await this.authenticate(req, audience);
    return true;
  }

  private async authenticate(req: Request, audience: Audience): Promise<Principal> {
    if (audience === 'operator') {
      const key = header(req, 'x-operator-key');
      if (key && constantTimeEqual(key, this.config.operatorKey)) {
        return { kind: 'operator' };
      }
      throw new DomainError('UNAUTHENTICATED', 'operator key required (X-Operator-Key)');
    }
    const apiKey = header(req, 'x-api-key');
    if (apiKey !== undefined) {
      const keyId = this.apiKeyIds.identify(apiKey);
      if (keyId === undefined) {
        throw new DomainError('UNAUTHENTICATED', 'invalid API key');
      }
      return { kind: 'api', keyId };
    }
    const authorization = header(req, 'authorization');
    if (authorization?.startsWith('Bearer ')) {
      if (audience === 'api') {
        throw new DomainError('FORBIDDEN', 'this route needs an API key');
      }
      try {
        const customerId = await this.jwks.verifyCustomerToken(authorization.slice(7).trim());
        return { kind: 'customer', customerId };
      } catch (err) {
        if (err instanceof InvalidTokenError) {
          throw new DomainError('UNAUTHENTICATED', `invalid customer token: ${err.message}`);
        }
        throw err;
      }
    }
    throw new DomainError(
      'UNAUTHENTICATED',
      audience === 'api'
        ? 'X-Api-Key required'
        : 'X-Api-Key or Authorization: Bearer <customer token> required',
    );
  }
}

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
