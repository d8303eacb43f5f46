import { registerDecorator, ValidationArguments, ValidationOptions } from 'class-validator';
import { parseInterval } from '../billing-interval';

const MAX_EXTRA_PARAMETERS = 50;

/** The shape every gateway accepts: a flat map of string values; each gateway adds its own key rules. */
export function extraParameterProblems(value: unknown, field: string): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [`${field} must be an object of string values`];
  }
  const problems: string[] = [];
  const badValues = Object.entries(value)
    .filter(([, v]) => typeof v !== 'string')
    .map(([k]) => JSON.stringify(k));
  if (badValues.length > 0) {
    problems.push(`${field}: values must be strings (bad: ${badValues.join(', ')})`);
  }
  if (Object.keys(value).length > MAX_EXTRA_PARAMETERS) {
    problems.push(`${field}: at most ${MAX_EXTRA_PARAMETERS} parameters`);
  }
  return problems;
}

/** `{"key": "value"}` passed to the gateway, which checks its own key rules (validatePurchase/-Subscription). */
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
