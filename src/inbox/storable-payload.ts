import { jsonNestingDepth, MAX_JSON_DEPTH } from '../common/http/json-depth';
import { WebhookMalformedError } from './webhook.errors';

/**
 * PostgreSQL text and jsonb cannot hold U+0000, and jsonb refuses an unpaired surrogate escape. An authentic
 * webhook carrying either is unstorable as sent: 400 (the sender must not retry it as-is), not a 500 retry loop.
 * Payloads nested deeper than MAX_JSON_DEPTH are refused too. JSON.stringify writes both as escapes (`\u0000`, `\ud800`); an even run of backslashes before `\u` means
 * the backslash itself was escaped and the text is literal.
 */
const UNSTORABLE_ESCAPE = /(?:^|[^\\])(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

/** Throws WebhookMalformedError for an unstorable event; returns the payload's JSON (the intake stores it as is). */
export function assertStorable(fields: { eventKey: string; eventType: string; payload: unknown }): string {
  let json: string;
  try {
    json = JSON.stringify(fields.payload) ?? 'null';
  } catch {
    throw new WebhookMalformedError('webhook payload cannot be serialised (nested too deep)');
  }
  // token sealing and event processing walk the payload recursively
  if (jsonNestingDepth(Buffer.from(json)) > MAX_JSON_DEPTH) {
    throw new WebhookMalformedError(`webhook payload nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  if (
    UNSTORABLE_ESCAPE.test(json) ||
    fields.eventKey.includes('\u0000') ||
    fields.eventType.includes('\u0000')
  ) {
    throw new WebhookMalformedError('webhook carries a NUL character or an unpaired surrogate');
  }
  return json;
}
