/**
 * Every failure a client or operator can act on has a stable code. Services throw these (never
 * HttpException) because they also run from cron and webhooks; http-exception.filter.ts maps them.
 */
export const ERROR_HTTP_STATUS = {
  VALIDATION_FAILED: 400,
  MALFORMED_REQUEST: 400,
  IDEMPOTENCY_KEY_REQUIRED: 400,
  UNAUTHENTICATED: 401,
  WEBHOOK_UNAUTHENTICATED: 401,
  WEBHOOK_MALFORMED: 400,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ORDER_NOT_FOUND: 404,
  PAYMENT_NOT_FOUND: 404,
  SUBSCRIPTION_NOT_FOUND: 404,
  PURCHASE_NOT_FOUND: 404,
  IDEMPOTENCY_KEY_REUSED: 409,
  IDEMPOTENCY_REQUEST_IN_PROGRESS: 409,
  ORDER_ALREADY_PAID: 409,
  PAYMENT_IN_PROGRESS: 409,
  SUBSCRIPTION_ALREADY_EXISTS: 409,
  INVALID_STATE_TRANSITION: 409,
  PAYMENT_NOT_ACTIONABLE: 409,
  PAYMENT_NOT_REFUNDABLE: 409,
  REFUND_EXCEEDS_CAPTURED: 422,
  PAYMENT_DETAILS_DECLINED: 422,
  PAYMENT_DETAILS_NOT_FOUND: 404,
  GATEWAY_NOT_AVAILABLE: 422,
  GATEWAY_MISMATCH: 422,
  GATEWAY_OPERATION_UNSUPPORTED: 422,
  UNSUPPORTED_PAYMENT_METHOD: 422,
  GATEWAY_REQUEST_INVALID: 422,
  UPSTREAM_REJECTED: 422,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  UPSTREAM_UNAVAILABLE: 502,
  NOT_READY: 503,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_HTTP_STATUS;

export interface FieldError {
  field: string;
  messages: string[];
}

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: FieldError[] | Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export class NotFoundError extends DomainError {
  constructor(what: 'ORDER_NOT_FOUND' | 'PAYMENT_NOT_FOUND' | 'NOT_FOUND', id: string) {
    super(
      what,
      `${what === 'ORDER_NOT_FOUND' ? 'order' : what === 'PAYMENT_NOT_FOUND' ? 'payment' : 'resource'} ${id} not found`,
    );
  }
}

export class InvalidTransitionError extends DomainError {
  constructor(entity: string, from: string, to: string) {
    super('INVALID_STATE_TRANSITION', `${entity} cannot go from ${from} to ${to}`, { entity, from, to });
  }
}
