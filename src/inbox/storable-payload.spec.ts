import { WebhookMalformedError } from './webhook.errors';
import { assertStorable } from './storable-payload';

const event = (payload: unknown, eventKey = 'k', eventType = 't') => ({ eventKey, eventType, payload });

describe('assertStorable', () => {
  it.each([
    ['a NUL in a value', { a: 'x\u0000' }],
    ['a NUL in a key', { ['\u0000']: 1 }],
    ['an unpaired high surrogate', { a: '\ud800' }],
    ['an unpaired low surrogate', { a: 'x\udc00y' }],
    ['an escaped backslash before a NUL', { a: '\\\u0000' }],
  ])('refuses %s as malformed', (_what, payload) => {
    expect(() => assertStorable(event(payload))).toThrow(WebhookMalformedError);
  });

  it('refuses a NUL in the event key or type', () => {
    expect(() => assertStorable(event({}, 'a\u0000'))).toThrow(WebhookMalformedError);
    expect(() => assertStorable(event({}, 'k', 'a\u0000'))).toThrow(WebhookMalformedError);
  });

  it.each([
    ['a literal backslash-u text', { a: '\\u0000' }],
    ['a paired surrogate (emoji)', { a: '😀' }],
    ['plain unicode', { a: 'é 𝔘 \u202e' }],
  ])('stores %s', (_what, payload) => {
    expect(assertStorable(event(payload))).toBe(JSON.stringify(payload));
  });

  it('refuses a payload nested deeper than the JSON depth limit', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 5000; i += 1) {
      deep = [deep];
    }
    expect(() => assertStorable(event({ data: deep }))).toThrow(WebhookMalformedError);
  });
});
