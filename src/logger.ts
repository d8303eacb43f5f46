import { AsyncLocalStorage } from 'node:async_hooks';
import type { LoggerService } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { destination as pinoDestination, pino, type DestinationStream, type Level, type Logger } from 'pino';
import type { AppConfig } from './config/app-config';

/** The app's two loggers, on one destination at one level. */
export interface AppLogs {
  /**
   * The services' lines (Nest's `Logger`): redacted, and with LOG_REQUEST_CONTEXT, inside an API request bound to
   * that request's `req: {id, method, url}` so an operator finds what one call did.
   */
  root: Logger;
  /**
   * One line per request (method, path without its query, status, time, request id) and nothing else, so no
   * redaction pass: the wildcard paths cost more than building the line (issue 11).
   */
  requests: Logger;
}

const SECRET_FIELDS = [
  'token',
  'number',
  'cvc',
  'encryptedCardNumber',
  'encryptedSecurityCode',
  'recurringToken',
] as const;

/**
 * Headers that authenticate and fields that carry card data or tokens are redacted wherever a service line
 * holds them; bodies are never logged.
 */
export function createLogs(
  config: Pick<AppConfig, 'logLevel'>,
  destination?: DestinationStream,
  /** each gateway's own secrets on the wire (its definition's redactPaths) */
  extraRedactPaths: readonly string[] = [],
): AppLogs {
  // stdout written asynchronously: a line is handed to the kernel at once unless a write is in flight, then the lines
  // waiting go in one write (fewer syscalls under load: issue 11); pino flushes what is left when the process exits
  const stream = destination ?? pinoDestination({ dest: 1, sync: false });
  const root = pino(
    {
      level: config.logLevel,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-api-key"]',
          'req.headers["x-operator-key"]',
          'req.headers["x-publisher-token"]',
          'req.headers.cookie',
          'req.headers["x-cleeng-signature"]',
          // at the top of a line's fields and one level down (`*.x` does not match a top-level `x`)
          ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`]),
          ...extraRedactPaths,
        ],
        censor: '[redacted]',
      },
    },
    stream,
  );
  return { root, requests: pino({ level: config.logLevel }, stream) };
}

/** What a request's lines are bound to; the child logger is made on the first service line, if any. */
interface RequestScope {
  req: { id: number; method: string; url: string };
  logger?: Logger;
}

const requestScope = new AsyncLocalStorage<RequestScope>();

/** The request's path: query strings can carry redirect results, so lines name the path only. */
export function pathOf(url: string | undefined): string {
  return (url ?? '').split('?', 1)[0] ?? '';
}

/**
 * Express middleware, first in the chain: numbers the request, writes its line once the answer is sent (an error
 * level for a 5xx; a client gone before the answer: "request aborted") and, with `bindServiceLines`
 * (LOG_REQUEST_CONTEXT), scopes the services' lines to it. `GET /health` gets no line: probes would drown the log.
 * Replaces pino-http, whose eager child logger and redaction pass on every request were a fifth of an order read's
 * CPU (docs/performance-history.md, thirteenth pass). The scope is an AsyncLocalStorage: on Node 20 its first `run`
 * turns on promise hooks for every promise of the process, workers included, ~9 % of a purchase's CPU (sixteenth pass).
 */
export function requestLogMiddleware(
  lines: Pick<Logger, 'info' | 'warn' | 'error'>,
  options: { bindServiceLines: boolean },
): (req: Request, res: Response, next: NextFunction) => void {
  let lastId = 0;
  return (req, res, next) => {
    const scope: RequestScope = { req: { id: (lastId += 1), method: req.method, url: pathOf(req.url) } };
    if (scope.req.url !== '/health') {
      const started = performance.now();
      const done = (): void => {
        res.off('finish', done);
        res.off('close', done);
        const line = {
          req: scope.req,
          res: { statusCode: res.statusCode },
          responseTime: Math.round(performance.now() - started),
        };
        if (!res.writableFinished) {
          lines.warn(line, 'request aborted');
        } else if (res.statusCode >= 500) {
          lines.error(line, 'request errored');
        } else {
          lines.info(line, 'request completed');
        }
      };
      res.on('finish', done);
      res.on('close', done);
    }
    if (options.bindServiceLines) {
      requestScope.run(scope, next);
    } else {
      next();
    }
  };
}

/**
 * Nest's `Logger` on pino: the context (Nest's last argument) as `context`, an Error as `err`, and inside an API
 * request the request's binding.
 */
export class AppLogger implements LoggerService {
  constructor(private readonly root: Logger) {}

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private get logger(): Logger {
    const scope = requestScope.getStore();
    if (!scope) {
      return this.root;
    }
    scope.logger ??= this.root.child({ req: scope.req });
    return scope.logger;
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    // the request's child shares the root's level: asked first, a line below it binds no child
    if (!this.root.isLevelEnabled(level)) {
      return;
    }
    const logger = this.logger;
    // Nest passes the context last; what comes before it is the message's own arguments (a stack, for errors)
    const fields: Record<string, unknown> = {};
    let rest = params;
    if (params.length > 0) {
      fields.context = params[params.length - 1];
      rest = params.slice(0, -1);
    }
    if (message instanceof Error) {
      logger[level]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      logger[level]({ ...fields, ...message }, ...(rest as []));
    } else if (
      level === 'error' &&
      rest.length === 1 &&
      typeof rest[0] === 'string' &&
      /\n\s*at /.test(rest[0])
    ) {
      // Nest's exception handlers call error(message, stack[, context])
      const err = new Error(String(message));
      err.stack = rest[0];
      logger.error({ ...fields, err }, err.message);
    } else {
      logger[level](fields, String(message), ...(rest as []));
    }
  }
}
