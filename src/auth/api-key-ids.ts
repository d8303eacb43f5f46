import { Inject, Injectable } from '@nestjs/common';
import { ConstantTimeSecret } from '../common/crypto/constant-time';
import { KeyedDigest } from '../common/crypto/keyed-digest';
import { APP_CONFIG, AppConfig } from '../config/app-config';

interface ConfiguredKey {
  key: ConstantTimeSecret;
  id: string;
}

/**
 * Names the configured API keys without revealing them: the id is a keyed HMAC of the key
 * (stable while ENCRYPTION_KEY is), so idempotency scopes and rate-limit buckets can be stored and
 * logged while the key itself is never stored and a leaked id cannot be brute-forced back to it.
 */
@Injectable()
export class ApiKeyIds {
  /** digests and ids of the configured keys, computed once: every API request is identified twice (auth, limits) */
  private readonly keys: readonly ConfiguredKey[];

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const digest = new KeyedDigest(config.encryptionKey, 'api-key-id');
    this.keys = config.apiKeys.map((key) => ({
      key: new ConstantTimeSecret(key),
      id: digest.hex(key).slice(0, 24),
    }));
  }

  /** The id of the configured key equal to `presented`, or undefined when none is. */
  identify(presented: string): string | undefined {
    // compared with every key, so timing reveals neither the keys nor which one matched
    let matched: string | undefined;
    for (const { key, id } of this.keys) {
      if (key.equals(presented)) {
        matched = id;
      }
    }
    return matched;
  }
}
