import { ValueTransformer } from 'typeorm';

/** bigint columns hold minor units; they fit in a JS safe integer, which this checks on read. */
export const bigintToNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null) => {
    if (value === null) {
      return null;
    }
    const n = Number(value);
    if (!Number.isSafeInteger(n)) {
      throw new Error(`bigint ${value} exceeds the safe integer range`);
    }
    return n;
  },
};

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as {
    code?: unknown;
    constraint?: unknown;
    driverError?: { code?: unknown; constraint?: unknown };
  };
  const code = e.driverError?.code ?? e.code;
  const name = e.driverError?.constraint ?? e.constraint;
  return code === '23505' && (constraint === undefined || name === constraint);
}
