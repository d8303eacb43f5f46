import type { Request } from 'express';

/**
 * The untouched request bytes of a webhook route (see bootstrap: `/webhooks` uses a raw parser); empty when
 * there was no body, so the signature or credentials are still verified first (401) and only then the
 * empty payload is refused as malformed (400).
 */
export function rawBodyOf(req: Request): Buffer {
  const body: unknown = req.body;
  return Buffer.isBuffer(body) ? body : Buffer.alloc(0);
}
