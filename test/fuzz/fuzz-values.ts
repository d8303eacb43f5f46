import fc from 'fast-check';

/**
 * Value generators shared by the route and webhook fuzzers: boundary numbers, hostile strings, deep nesting,
 * and "near misses" of a valid JSON object (one to three fields wrong, missing or extra).
 */

/**
 * JSON text that JSON.stringify cannot write (the number 1e309 parses to Infinity; 10,000 nested arrays):
 * carried as a marked string and spliced into the text raw. It must not contain a double quote.
 */
const RAW_MARK = '__fuzz_raw__';
export const rawNumber = (text: string): string => `${RAW_MARK}${text}`;

/** JSON text of `value`, with rawNumber() placeholders written as bare numbers. */
export function toJsonText(value: unknown): string {
  return (JSON.stringify(value) ?? 'null').replace(
    new RegExp(`"${RAW_MARK}([^"]*)"`, 'g'),
    (_m, raw: string) => raw,
  );
}

export const boundaryNumber: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    -1,
    1,
    0.5,
    -0.5,
    0.1 + 0.2,
    1e-9,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 32,
    2 ** 53 - 1,
    2 ** 53 + 2,
    -(2 ** 53),
    1e21,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
  ),
  fc
    .constantFrom('1e309', '-1e309', '1E400', '123456789012345678901234567890', '-0.0', '1e-400')
    .map(rawNumber),
  fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e309', '0x10', '1_000', ' 12 ', '12abc', ''),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

const hostileFragment = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  '\uFEFF',
  '\u202E',
  '😀',
  '𝔘𝔫𝔦',
  'é',
  '\uD800',
  "'; DROP TABLE payments; --",
  '../../etc/passwd',
  '%00',
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  '__proto__',
  'constructor',
  '4111111111111111',
  '00000000-0000-0000-0000-000000000000',
);

export const hugeString: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(1_000, 10_000, 100_000, 255_000, 300_000),
    fc.constantFrom('a', 'é', '😀', '\u0000', '9'),
  )
  .map(([size, unit]) => unit.repeat(Math.ceil(size / Buffer.byteLength(unit))));

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 2, arbitrary: hostileFragment },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: hugeString },
);

/**
 * Nesting deep enough to stress recursive validators and transformers. Deep arrays travel as raw JSON text
 * (spliced by toJsonText): as values they would overflow fast-check's own cloning and printing.
 */
export const deepValue: fc.Arbitrary<unknown> = fc.oneof(
  fc
    .constantFrom(33, 200, 2_000, 10_000)
    .map((depth) => rawNumber(`${'['.repeat(depth)}1${']'.repeat(depth)}`)),
  fc.constantFrom(5, 31, 40).map((depth) => {
    let value: unknown = 1;
    for (let i = 0; i < depth; i += 1) {
      value = { a: value };
    }
    return value;
  }),
);

export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 3, arbitrary: boundaryNumber },
  { weight: 3, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}, [null], { value: 1 }) },
  { weight: 1, arbitrary: deepValue },
);

type Mutation = (target: Record<string, unknown>) => void;

/** One change to one (possibly nested) field of a valid object. */
function mutation(fieldNames: string[]): fc.Arbitrary<Mutation> {
  const field = fieldNames.length > 0 ? fc.constantFrom(...fieldNames) : fc.constant('x');
  return fc.oneof(
    fc.tuple(field, anyValue).map(([name, value]): Mutation => (t) => {
      setPath(t, name, value);
    }),
    field.map((name): Mutation => (t) => {
      deletePath(t, name);
    }),
    fc
      .tuple(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor')), anyValue)
      .map(([name, value]): Mutation => (t) => {
        Object.defineProperty(t, name, { value, enumerable: true, configurable: true, writable: true });
      }),
  );
}

/** `valid` with one to three of its fields (dotted paths) changed, removed, or an unknown field added. */
export function nearMiss(valid: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  const names = fieldPaths(valid);
  return fc.array(mutation(names), { minLength: 1, maxLength: 3 }).map((mutations) => {
    const copy = structuredClone(valid);
    for (const apply of mutations) {
      apply(copy);
    }
    return copy;
  });
}

/** Dotted paths of every field (objects only, not inside arrays beyond the first element). */
function fieldPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) {
    return value.length > 0 ? fieldPaths(value[0], `${prefix}0.`) : [];
  }
  if (typeof value !== 'object' || value === null) {
    return [];
  }
  return Object.entries(value).flatMap(([key, child]) => [
    `${prefix}${key}`,
    ...fieldPaths(child, `${prefix}${key}.`),
  ]);
}

function parentOf(
  target: Record<string, unknown>,
  path: string,
): [Record<string, unknown>, string] | undefined {
  const parts = path.split('.');
  let node: unknown = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node !== 'object' || node === null) {
      return undefined;
    }
    node = (node as Record<string, unknown>)[part];
  }
  if (typeof node !== 'object' || node === null) {
    return undefined;
  }
  return [node as Record<string, unknown>, parts[parts.length - 1] ?? ''];
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const found = parentOf(target, path);
  if (found) {
    found[0][found[1]] = value;
  }
}

function deletePath(target: Record<string, unknown>, path: string): void {
  const found = parentOf(target, path);
  if (found) {
    delete found[0][found[1]];
  }
}
