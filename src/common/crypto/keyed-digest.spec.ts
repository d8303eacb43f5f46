import { createHash } from 'node:crypto';
import { KeyedDigest } from './keyed-digest';

describe('KeyedDigest', () => {
  const master = Buffer.alloc(32, 7);

  it('is stable for one key and purpose, and differs across purposes and keys', () => {
    const ids = new KeyedDigest(master, 'api-key-id');
    expect(ids.hex('sandbox-key')).toBe(new KeyedDigest(master, 'api-key-id').hex('sandbox-key'));
    expect(ids.hex('sandbox-key')).not.toBe(
      new KeyedDigest(master, 'idempotency-request').hex('sandbox-key'),
    );
    expect(ids.hex('sandbox-key')).not.toBe(
      new KeyedDigest(Buffer.alloc(32, 8), 'api-key-id').hex('sandbox-key'),
    );
  });

  it('is not the plain SHA-256 of its input', () => {
    const digest = new KeyedDigest(master, 'idempotency-request').hex('4111111111111111');
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(digest).not.toBe(createHash('sha256').update('4111111111111111').digest('hex'));
  });
});
