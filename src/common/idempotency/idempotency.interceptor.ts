import {
  applyDecorators,
  CallHandler,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  SetMetadata,
  UseInterceptors,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Response } from 'express';
import { from, Observable, of } from 'rxjs';
import { catchError, mergeMap } from 'rxjs/operators';
import type { AuthenticatedRequest } from '../../auth/auth.guard';
import { principalScope } from '../../auth/principal';
import { DomainError } from '../errors/domain-error';
import { IdempotencyService } from './idempotency.service';

export const IDEMPOTENT = 'idempotency:mode';
/** Marks a mutating route: `Idempotency-Key` is honoured, and with `required` it must be sent. */
export const Idempotent = (mode: 'required' | 'optional' = 'optional'): MethodDecorator =>
  // on the route only: an interceptor costs every request it wraps (Nest binds an async resource per call)
  applyDecorators(SetMetadata(IDEMPOTENT, mode), UseInterceptors(IdempotencyInterceptor));

/** The caller-scoped Idempotency-Key a request runs under (scope = caller + route). */
export interface ClientRequestKey {
  scope: string;
  key: string;
}

type KeyedRequest = AuthenticatedRequest & { clientRequestKey?: ClientRequestKey };

/**
 * The request's Idempotency-Key with its caller scope, when it sent one: a handler whose work must outlive a
 * crash records it with that work, so a retry after the key went stale resumes the work instead of repeating it.
 */
export const ClientRequestKeyOf = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): ClientRequestKey | undefined =>
    ctx.switchToHttp().getRequest<KeyedRequest>().clientRequestKey,
);

@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly store: IdempotencyService,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const mode = this.reflector.get<'required' | 'optional' | undefined>(IDEMPOTENT, context.getHandler());
    if (!mode) {
      return next.handle();
    }
    const req = context.switchToHttp().getRequest<KeyedRequest>();
    const res = context.switchToHttp().getResponse<Response>();
    const raw = req.headers['idempotency-key'];
    const key = Array.isArray(raw) ? raw[0] : raw;
    if (key === undefined || key === '') {
      if (mode === 'required') {
        throw new DomainError(
          'IDEMPOTENCY_KEY_REQUIRED',
          'Idempotency-Key header is required for this route',
          [{ field: 'Idempotency-Key', messages: ['header is required'] }],
        );
      }
      return next.handle();
    }
    IdempotencyService.assertValidKey(key);
    // scope by caller and route so two tenants' keys never collide
    const route = (req.route as { path?: string } | undefined)?.path ?? req.path;
    const scope = `${principalScope(req.principal)} ${req.method} ${route}`;
    const hash = this.store.requestHash({ params: req.params, body: req.body as unknown });

    return from(this.store.begin(scope, key, hash)).pipe(
      mergeMap((begin) => {
        if (begin.kind === 'replay') {
          res.status(begin.status);
          res.setHeader('Idempotent-Replayed', 'true');
          return of(begin.body);
        }
        req.clientRequestKey = { scope, key };
        return next.handle().pipe(
          mergeMap((body: unknown) =>
            from(this.store.complete(scope, key, res.statusCode, body).then(() => body)),
          ),
          catchError((err: unknown) =>
            from(this.store.release(scope, key).then(() => Promise.reject(err as Error))),
          ),
        );
      }),
    );
  }
}
