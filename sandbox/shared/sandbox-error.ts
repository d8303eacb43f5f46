import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';

/** The codes the emulators answer with, and their HTTP status (the app's error body shape, own table). */
const SANDBOX_ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  NOT_FOUND: 404,
  PAYMENT_NOT_FOUND: 404,
  INVALID_STATE_TRANSITION: 409,
  PAYMENT_NOT_ACTIONABLE: 409,
  INTERNAL: 500,
} as const;

export type SandboxErrorCode = keyof typeof SANDBOX_ERROR_STATUS;

export interface SandboxFieldError {
  field: string;
  messages: string[];
}

/** A failure of a sandbox tool route (`/sandbox/...`), rendered by SandboxErrorFilter. */
export class SandboxError extends Error {
  constructor(
    readonly code: SandboxErrorCode,
    message: string,
    readonly details?: SandboxFieldError[] | Record<string, unknown>,
  ) {
    super(message);
    this.name = 'SandboxError';
  }

  get status(): number {
    return SANDBOX_ERROR_STATUS[this.code];
  }
}

export class SandboxNotFoundError extends SandboxError {
  constructor(what: 'PAYMENT_NOT_FOUND' | 'NOT_FOUND', id: string) {
    super(what, `${what === 'PAYMENT_NOT_FOUND' ? 'payment' : 'resource'} ${id} not found`);
  }
}

/**
 * `{statusCode, code, message, details?}` for a SandboxError; anything else falls through to the app's
 * global filter. Put on every sandbox controller with `@UseFilters(SandboxErrorFilter)`.
 */
@Catch(SandboxError)
export class SandboxErrorFilter implements ExceptionFilter<SandboxError> {
  catch(error: SandboxError, host: ArgumentsHost): void {
    host
      .switchToHttp()
      .getResponse<Response>()
      .status(error.status)
      .json({
        statusCode: error.status,
        code: error.code,
        message: error.message,
        ...(error.details ? { details: error.details } : {}),
      });
  }
}
