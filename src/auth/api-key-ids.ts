import { Inject, Injectable } from '@nestjs/common';
import { constantTimeEqual } from '../common/crypto/constant-time';
import { KeyedDigest } from '../common/crypto/keyed-digest';
import { APP_CONFIG, AppConfig } from '../config/app-config';

/**
 * Names the configured API keys without revealing them: the id is a keyed HMAC of the key
 * (stable while ENCRYPTION_KEY is), so idempotency scopes and rate-limit buckets can be stored and
 * logged while the key itself is never stored and a leaked id cannot be brute-forced back to it.
 */
@Injectable()
export class ApiKeyIds {
  private readonly digest: KeyedDigest;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.digest = new KeyedDigest(config.encryptionKey, 'api-key-id');
  }

  /** The id of the configured key equal to `presented`, or undefined when none is. */
  identify(presented: string): string | undefined {
    // compare with every key so timing does not reveal which one matched
    const matched = this.config.apiKeys.map((k) => constantTimeEqual(presented, k)).some(Boolean);
    return matched ? this.digest.hex(presented).slice(0, 24) : undefined;
  }
}
