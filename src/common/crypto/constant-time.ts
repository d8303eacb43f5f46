import { hash, timingSafeEqual } from 'node:crypto';

/** One-shot `hash` (no Hash object per call): comparisons run on every webhook and API request. */
function sha256(text: string): Buffer {
  return hash('sha256', text, 'buffer');
}

/** Constant-time string comparison; hashing first makes unequal lengths take the same path. */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b)) && a.length === b.length;
}

/**
 * `constantTimeEqual` against one fixed secret (a configured key compared on every request), its digest taken
 * once instead of on every comparison.
 */
export class ConstantTimeSecret {
  private readonly digest: Buffer;
  private readonly length: number;

  constructor(secret: string) {
    this.digest = sha256(secret);
    this.length = secret.length;
  }

  equals(presented: string): boolean {
    return timingSafeEqual(sha256(presented), this.digest) && presented.length === this.length;
  }
}
