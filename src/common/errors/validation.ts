import { ValidationError, ValidationPipe } from '@nestjs/common';
import { DomainError, FieldError } from './domain-error';

function collect(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own = e.constraints ? [{ field, messages: Object.values(e.constraints) }] : [];
    return [...own, ...collect(e.children ?? [], field)];
  });
}

export function validationError(errors: ValidationError[]): DomainError {
  const details = collect(errors);
  const summary = details.map((d) => `${d.field}: ${d.messages.join(', ')}`).join('; ');
  return new DomainError('VALIDATION_FAILED', summary || 'invalid request', details);
}

/** Whitelist + forbid unknown fields; failures become VALIDATION_FAILED with field-level details. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    exceptionFactory: (errors) => validationError(errors),
  });
}
