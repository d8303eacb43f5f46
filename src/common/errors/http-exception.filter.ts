import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Response } from 'express';
import { DomainError, ERROR_HTTP_STATUS, ErrorCode } from './domain-error';

interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
  details?: unknown;
}

const HTTP_STATUS_CODES: Record<number, ErrorCode> = {
  400: 'MALFORMED_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
};

/** The one place errors become HTTP responses: `{statusCode, code, message, details?}`. */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const body = this.toBody(exception);
    // JSON even where the route declared another type for its success (`@Header('Content-Type', 'text/plain')`)
    res.status(body.statusCode).type('json').json(body);
  }

  toBody(exception: unknown): ErrorBody {
    if (exception instanceof DomainError) {
      return {
        statusCode: ERROR_HTTP_STATUS[exception.code],
        code: exception.code,
        message: exception.message,
        ...(exception.details ? { details: exception.details } : {}),
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status < 500) {
        const response = exception.getResponse();
        const message =
          typeof response === 'object' && response !== null && 'message' in response
            ? String(response.message)
            : exception.message;
        return { statusCode: status, code: HTTP_STATUS_CODES[status] ?? 'MALFORMED_REQUEST', message };
      }
    }
    // body-parser failures (bad JSON, wrong charset, a body that does not inflate, too large) arrive as plain
    // http-errors carrying a client status
    const parser = bodyParserFailure(exception);
    if (parser !== undefined) {
      return {
        statusCode: parser.status,
        code: parser.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'MALFORMED_REQUEST',
        message: parserMessage(parser),
      };
    }
    const correlationId = randomUUID();
    this.logger.error(
      { err: exception, correlationId },
      `unhandled error ${correlationId}: ${exception instanceof Error ? exception.message : String(exception)}`,
    );
    return { statusCode: 500, code: 'INTERNAL', message: `internal error (correlation id ${correlationId})` };
  }
}

function bodyParserFailure(exception: unknown): { status: number; type?: string } | undefined {
  if (typeof exception !== 'object' || exception === null || !('status' in exception)) {
    return undefined;
  }
  const { status, type, expose } = exception as { status: unknown; type?: unknown; expose?: unknown };
  // `type` names body-parser's own refusals; `expose` marks http-errors made from a stream failure (raw-body)
  if (
    typeof status !== 'number' ||
    status < 400 ||
    status >= 500 ||
    (typeof type !== 'string' && expose !== true)
  ) {
    return undefined;
  }
  return { status, ...(typeof type === 'string' ? { type } : {}) };
}

function parserMessage(failure: { status: number; type?: string }): string {
  if (failure.status === 413) {
    return 'request body too large';
  }
  if (failure.type === 'entity.parse.failed') {
    return 'request body is not valid JSON';
  }
  if (failure.status === 415) {
    return 'request body charset or encoding not supported';
  }
  return 'request body could not be read';
}
