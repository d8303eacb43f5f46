import { createHmac, hkdfSync } from 'node:crypto';
import type { AppConfig } from '../config/app-config';
import { ApiKeyIds } from './api-key-ids';

const encryptionKey = Buffer.alloc(32, 7);
const ids = new ApiKeyIds({ encryptionKey, apiKeys: ['key-one', 'key-two'] } as unknown as AppConfig);

/** The id as stored in idempotency scopes and rate-limit buckets: it must not change between releases. */
function storedId(key: string): string {
  const derived = Buffer.from(hkdfSync('sha256', encryptionKey, Buffer.alloc(0), 'connector:api-key-id', 32));
  return createHmac('sha256', derived).update(key).digest('hex').slice(0, 24);
}

describe('ApiKeyIds', () => {
  it('names each configured key by the keyed digest already stored for it', () => {
    expect(ids.identify('key-one')).toBe(storedId('key-one'));
    expect(ids.identify('key-two')).toBe(storedId('key-two'));
    expect(ids.identify('key-one')).not.toBe(ids.identify('key-two'));
  });

  it('names no key for anything not exactly equal to a configured one', () => {
    for (const presented of ['', 'key-on', 'key-one ', 'KEY-ONE', 'key-three', 'key-onekey-two']) {
      expect(ids.identify(presented)).toBeUndefined();
    }
  });
});
