import { DomainError, FieldError } from '../../common/errors/domain-error';

/**
 * A cart we refuse to send: bad x-parameter keys, empty cart, a rebill without the subscription id, ...
 * Thrown before any call to Cleverbridge; maps to `400 VALIDATION_FAILED` with field-level details.
 */
export class CleverbridgeValidationError extends DomainError {
  constructor(readonly fieldErrors: FieldError[]) {
    super(
      'VALIDATION_FAILED',
      fieldErrors.map((e) => `${e.field}: ${e.messages.join(', ')}`).join('; ') ||
        'invalid Cleverbridge cart',
      fieldErrors,
    );
    this.name = 'CleverbridgeValidationError';
  }
}
