import { createHmac, hkdfSync } from 'node:crypto';

/** What a derived key is for: each purpose gets its own key, so one digest never predicts another. */
export type DigestPurpose = 'api-key-id' | 'idempotency-request';

/**
 * HMAC-SHA256 under a key derived (HKDF) from ENCRYPTION_KEY. Used where a stored or shown value
 * must identify a secret input (an API key, a request body with card data) without letting a leaked
 * table be brute-forced back to it, as an unkeyed hash could be.
 */
export class KeyedDigest {
  private readonly key: Buffer;

  constructor(masterKey: Buffer, purpose: DigestPurpose) {
    this.key = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `connector:${purpose}`, 32));
  }

  hex(data: string): string {
    return createHmac('sha256', this.key).update(data).digest('hex');
  }
}
