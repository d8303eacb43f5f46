import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { ApiKeyIds } from '../auth/api-key-ids';
import { JwksVerifier } from '../auth/jwks-verifier';
import { DomainError } from '../common/errors/domain-error';

/**
 * Rate limits per caller: a valid API key by its id, else a customer by the id in a verified JWT,
 * else the client IP. Runs before authentication, so a made-up key or token counts against the IP
 * (guessing keys is throttled too) and never opens a fresh bucket. One bucket per caller and
 * throttler, shared by all routes.
 */
@Injectable()
export class CallerThrottlerGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly apiKeyIds: ApiKeyIds,
    private readonly jwks: JwksVerifier,
  ) {
    super(options, storage, reflector);
  }

  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') {
      return Promise.resolve(true);
    }
    // the emulators are not the product (and sandbox code stays free of production decorators)
    const req = context.switchToHttp().getRequest<Request>();
    return Promise.resolve(req.path.startsWith('/sandbox/'));
  }

  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const request = req as unknown as Request;
    const apiKey = header(request, 'x-api-key');
    if (apiKey !== undefined) {
      const keyId = this.apiKeyIds.identify(apiKey);
      if (keyId !== undefined) {
        return `api:${keyId}`;
      }
    } else {
      const authorization = header(request, 'authorization');
      if (authorization?.startsWith('Bearer ')) {
        try {
          return `customer:${await this.jwks.verifyCustomerToken(authorization.slice(7).trim())}`;
        } catch {
          // invalid, expired, or JWKS unreachable: count by IP; the auth guard answers the request
        }
      }
    }
    return `ip:${await super.getTracker(req)}`;
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, throttler: string): string {
    return `${throttler}:${tracker}`;
  }

  protected override throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    // the library names the header per throttler (Retry-After-tokenise); clients read Retry-After
    context.switchToHttp().getResponse<Response>().setHeader('Retry-After', String(detail.timeToBlockExpire));
    return Promise.reject(
      new DomainError('RATE_LIMITED', `too many requests; retry after ${detail.timeToBlockExpire} s`),
    );
  }
}

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
