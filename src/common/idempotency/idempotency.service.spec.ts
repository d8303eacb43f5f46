import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../../config/app-config';
import { IdempotencyService, stableStringify } from './idempotency.service';

function service(encryptionKey: Buffer = Buffer.alloc(32, 7)): IdempotencyService {
  return new IdempotencyService({} as DataSource, { encryptionKey } as AppConfig);
}

describe('idempotency request hashing', () => {
  const store = service();

  it('ignores key order and undefined fields', () => {
    expect(stableStringify({ b: 1, a: { d: [1, 2], c: undefined } })).toBe('{"a":{"d":[1,2]},"b":1}');
    expect(store.requestHash({ a: 1, b: 2 })).toBe(store.requestHash({ b: 2, a: 1 }));
  });

  it('tells different bodies apart', () => {
    expect(store.requestHash({ a: 1 })).not.toBe(store.requestHash({ a: 2 }));
    expect(store.requestHash({ a: [1, 2] })).not.toBe(store.requestHash({ a: [2, 1] }));
  });

  it('is keyed by ENCRYPTION_KEY: not a plain SHA-256 a leaked table could be brute-forced with', () => {
    const body = { paymentMethod: { number: '4111111111111111', cvc: '737' } };
    const plain = createHash('sha256').update(stableStringify(body)).digest('hex');
    expect(store.requestHash(body)).not.toBe(plain);
    expect(store.requestHash(body)).not.toBe(service(Buffer.alloc(32, 8)).requestHash(body));
    expect(store.requestHash(body)).toBe(service().requestHash(body));
  });

  it('validates the key format', () => {
    expect(() => IdempotencyService.assertValidKey('order-1:attempt.2')).not.toThrow();
    expect(() => IdempotencyService.assertValidKey('has space')).toThrow('Idempotency-Key');
    expect(() => IdempotencyService.assertValidKey('x'.repeat(256))).toThrow('Idempotency-Key');
  });
});
