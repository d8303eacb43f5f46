import { constantTimeEqual } from '../common/crypto/constant-time';
import { WebhookUnauthenticatedError } from '../inbox/webhook.errors';
import type { WebhookHeaders } from './gateway.provider';

/**
 * HTTP Basic auth of a gateway's notifications (Cleverbridge, SmartPay): both parts are compared in constant time
 * and both comparisons always run; an empty expected credential never matches. Never looks at the body.
 * `source` names the sender in the error (e.g. "cleverbridge notification").
 */
export function verifyWebhookBasicAuth(
  headers: WebhookHeaders,
  expected: { username: string; password: string },
  source: string,
): void {
  const entry = Object.entries(headers).find(([key]) => key.toLowerCase() === 'authorization');
  const header = Array.isArray(entry?.[1]) ? entry[1][0] : entry?.[1];
  const match = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (!match?.[1]) {
    throw new WebhookUnauthenticatedError(`${source}: missing Basic authorization`);
  }
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const userOk = constantTimeEqual(colon >= 0 ? decoded.slice(0, colon) : decoded, expected.username);
  const passwordOk = constantTimeEqual(colon >= 0 ? decoded.slice(colon + 1) : '', expected.password);
  if (!(userOk && passwordOk) || colon < 0 || expected.username === '' || expected.password === '') {
    throw new WebhookUnauthenticatedError(`${source}: wrong Basic credentials`);
  }
}
