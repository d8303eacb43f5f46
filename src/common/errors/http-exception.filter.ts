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
    res.status(body.statusCode).json(body);
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
    // body-parser failures (bad JSON, wrong charset, too large) arrive as plain errors carrying a status.
    const parserStatus = bodyParserStatus(exception);
    if (parserStatus !== undefined) {
      return {
        statusCode: parserStatus,
        code: parserStatus === 413 ? 'PAYLOAD_TOO_LARGE' : 'MALFORMED_REQUEST',
        message: parserStatus === 413 ? 'request body too large' : 'request body is not valid JSON',
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

function bodyParserStatus(exception: unknown): number | undefined {
  if (typeof exception === 'object' && exception !== null && 'type' in exception && 'status' in exception) {
    const status = (exception as { status: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return status;
    }
  }
  return undefined;
}
