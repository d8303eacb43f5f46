import {
  ArgumentsHost,
  CanActivate,
  Catch,
  ExceptionFilter,
  ExecutionContext,
  Inject,
  Injectable,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { DomainError } from '../common/errors/domain-error';
import { HttpExceptionFilter } from '../common/errors/http-exception.filter';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DashboardSession, parseCookies, SESSION_COOKIE, SessionSigner } from './dashboard-session';
import { errorPage } from './dashboard.views';

export const PUBLIC_PAGE = 'dashboard:public';
/** A dashboard route reachable without a session (login page, static assets). */
export const PublicPage = (): MethodDecorator => SetMetadata(PUBLIC_PAGE, true);

export type DashboardRequest = Request & { dashboardSession: DashboardSession };

/** No (valid) session: pages send the browser to the login form. */
export class LoginRequiredError extends Error {}

@Injectable()
export class SessionSignerProvider extends SessionSigner {
  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    super(config.encryptionKey, config.operatorKey);
  }
}

/**
 * Every dashboard route but the public ones needs a signed, unexpired session cookie; every POST also needs
 * the session's CSRF token in its form (`_csrf`). SameSite=Strict already keeps other sites' posts from
 * carrying the cookie; the token covers browsers and proxies that do not honour it.
 */
@Injectable()
export class DashboardSessionGuard implements CanActivate {
  constructor(
    private readonly signer: SessionSignerProvider,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.get<boolean | undefined>(PUBLIC_PAGE, context.getHandler())) {
      return true;
    }
    const req = context.switchToHttp().getRequest<DashboardRequest>();
    const session = this.signer.verify(parseCookies(req.headers.cookie)[SESSION_COOKIE], Date.now());
    if (!session) {
      throw new LoginRequiredError();
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const body = req.body as Record<string, unknown> | undefined;
      if (!this.signer.csrfValid(session, body?._csrf)) {
        throw new DomainError(
          'FORBIDDEN',
          'the form is stale or was not sent by the dashboard (CSRF token); reload the page',
        );
      }
    }
    req.dashboardSession = session;
    return true;
  }
}

/** Dashboard errors as pages: no session redirects to the login form, anything else is an error page. */
@Catch()
export class DashboardExceptionFilter implements ExceptionFilter {
  private readonly json = new HttpExceptionFilter();

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request>();
    if (exception instanceof LoginRequiredError) {
      if (req.method === 'GET' || req.method === 'HEAD') {
        res.redirect(303, '/dashboard/login');
      } else {
        res.status(401).type('html').send(errorPage(401, 'Your session has ended: sign in again.'));
      }
      return;
    }
    const body = this.json.toBody(exception);
    const details = Array.isArray(body.details)
      ? (body.details as { field: string; messages: string[] }[])
          .map((d) => `${d.field}: ${d.messages.join(', ')}`)
          .join('; ')
      : '';
    res
      .status(body.statusCode)
      .type('html')
      .send(errorPage(body.statusCode, details ? `${body.message} (${details})` : body.message));
  }
}
