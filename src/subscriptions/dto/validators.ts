import { registerDecorator, ValidationArguments, ValidationOptions } from 'class-validator';
import {
  validateExtraParameters,
  X_ATTEMPT,
  X_PERIOD,
  X_REFERENCE,
} from '../../gateways/cleverbridge/cleverbridge.mapper';
import { parseInterval } from '../billing-interval';

/** x-parameters the connector sets itself on every cart; a caller may not supply them. */
export const RESERVED_X_PARAMETERS: readonly string[] = [X_ATTEMPT, X_REFERENCE, X_PERIOD];

/** Every problem with an x-parameter map, in the gateway mapper's wording plus our reserved keys. */
export function extraParameterProblems(value: unknown, field: string): string[] {
  const problems = validateExtraParameters(value, field);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const reserved = Object.keys(value).filter((key) => RESERVED_X_PARAMETERS.includes(key));
    if (reserved.length > 0) {
      problems.push(
        `${field}: ${reserved.map((k) => JSON.stringify(k)).join(', ')} ${reserved.length > 1 ? 'are' : 'is'} set by the connector`,
      );
    }
    if (Object.keys(value).length > 50) {
      problems.push(`${field}: at most 50 x-parameters`);
    }
  }
  return problems;
}

/** `{"x-...": "..."}`: keys must start with `x-` (Cleverbridge), values strings, none of the connector's. */
export function IsExtraParameters(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'isExtraParameters',
      target: target.constructor,
      propertyName: String(propertyName),
      ...(options ? { options } : {}),
      validator: {
        validate: (value: unknown) => extraParameterProblems(value, 'extraParameters').length === 0,
        defaultMessage: (args: ValidationArguments) =>
          extraParameterProblems(args.value, args.property).join('; '),
      },
    });
  };
}

/** An ISO 8601 duration with date components (P1M, P1Y, P7D, P2W). */
export function IsBillingInterval(options?: ValidationOptions): PropertyDecorator {
  const problem = (value: unknown): string | undefined => {
    try {
      parseInterval(value as string);
      return undefined;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  };
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'isBillingInterval',
      target: target.constructor,
      propertyName: String(propertyName),
      ...(options ? { options } : {}),
      validator: {
        validate: (value: unknown) => problem(value) === undefined,
        defaultMessage: (args: ValidationArguments) => problem(args.value) ?? 'invalid interval',
      },
    });
  };
}
