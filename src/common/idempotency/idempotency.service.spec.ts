import { IdempotencyService, stableStringify } from './idempotency.service';

describe('idempotency request hashing', () => {
  it('ignores key order and undefined fields', () => {
    expect(stableStringify({ b: 1, a: { d: [1, 2], c: undefined } })).toBe('{"a":{"d":[1,2]},"b":1}');
    expect(IdempotencyService.hash({ a: 1, b: 2 })).toBe(IdempotencyService.hash({ b: 2, a: 1 }));
  });

  it('tells different bodies apart', () => {
    expect(IdempotencyService.hash({ a: 1 })).not.toBe(IdempotencyService.hash({ a: 2 }));
    expect(IdempotencyService.hash({ a: [1, 2] })).not.toBe(IdempotencyService.hash({ a: [2, 1] }));
  });

  it('validates the key format', () => {
    expect(() => IdempotencyService.assertValidKey('order-1:attempt.2')).not.toThrow();
    expect(() => IdempotencyService.assertValidKey('has space')).toThrow('Idempotency-Key');
    expect(() => IdempotencyService.assertValidKey('x'.repeat(256))).toThrow('Idempotency-Key');
  });
});
