import { DomainError } from '../common/errors/domain-error';

/** Signature or credentials of a webhook are wrong: 401, nothing stored, nothing done. */
export class WebhookUnauthenticatedError extends DomainError {
  constructor(message = 'webhook signature or credentials invalid') {
    super('WEBHOOK_UNAUTHENTICATED', message);
  }
}

/** Authentic but unreadable (not JSON, missing fields): 400, the sender must not retry as-is. */
export class WebhookMalformedError extends DomainError {
  constructor(message: string) {
    super('WEBHOOK_MALFORMED', message);
  }
}
