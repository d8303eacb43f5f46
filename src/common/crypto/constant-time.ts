import { hash, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time string comparison; hashing first makes unequal lengths take the same path. One-shot `hash` (no
 * Hash object per call): this runs on every webhook.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(hash('sha256', a, 'buffer'), hash('sha256', b, 'buffer')) && a.length === b.length;
}
