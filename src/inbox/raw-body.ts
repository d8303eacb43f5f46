import type { Request } from 'express';
import { WebhookMalformedError } from './webhook.errors';

/** The untouched request bytes of a webhook route (see bootstrap: `/webhooks` uses a raw parser). */
export function rawBodyOf(req: Request): Buffer {
  const body: unknown = req.body;
  if (!Buffer.isBuffer(body) || body.length === 0) {
    throw new WebhookMalformedError('empty webhook body');
  }
  return body;
}
