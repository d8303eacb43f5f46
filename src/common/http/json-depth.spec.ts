import { DomainError } from '../errors/domain-error';
import { jsonNestingDepth, MAX_JSON_DEPTH, refuseDeepJson } from './json-depth';

const depthOf = (text: string): number => jsonNestingDepth(Buffer.from(text));

describe('jsonNestingDepth', () => {
  it.each([
    ['1', 0],
    ['{}', 1],
    ['{"a":[1,{"b":[]}]}', 4],
    ['[[1],[2],[3]]', 2],
    ['{"a":"[[[[{{{{"}', 1],
    ['{"a":"\\"[[[["}', 1],
    ['{"a":"\\\\","b":[[1]]}', 3],
  ])('%s nests %i deep', (text, depth) => {
    expect(depthOf(text)).toBe(depth);
  });
});

describe('refuseDeepJson', () => {
  const nested = (n: number): Buffer => Buffer.from(`${'['.repeat(n)}${']'.repeat(n)}`);
  const run = (raw: Buffer): unknown[] => {
    const passed: unknown[] = [];
    const req = { rawBody: raw, is: (type: string) => (type === 'json' ? 'json' : false) };
    refuseDeepJson(req as never, {} as never, (err?: unknown) => passed.push(err));
    return passed;
  };

  it(`lets ${MAX_JSON_DEPTH} levels through and refuses one more as a malformed request`, () => {
    expect(run(nested(MAX_JSON_DEPTH))).toEqual([undefined]);
    const [refused] = run(nested(MAX_JSON_DEPTH + 1));
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({ code: 'MALFORMED_REQUEST' });
  });
});
