import { TokenCipher } from '../common/crypto/token-cipher';
import { redactWebhookSecrets, sealWebhookSecrets, unsealWebhookSecrets } from './inbox-secrets';

describe('webhook secrets at rest', () => {
  const cipher = new TokenCipher(Buffer.alloc(32, 3));
  const token = 'XDFIKQNA84UH21Q7';

  it('seals tokens anywhere in the payload and fingerprints them in the key; unseal restores the payload', () => {
    const event = {
      eventKey: `${token}:RECURRING_CONTRACT:true`,
      payload: { eventKey: `${token}:RECURRING_CONTRACT:true`, token, data: { token, amount: 1 } },
    };
    const sealed = sealWebhookSecrets(cipher, event);
    expect(JSON.stringify(sealed)).not.toContain(token);
    expect(sealed.eventKey).toBe(sealWebhookSecrets(cipher, event).eventKey); // still deduplicates
    expect(sealed.eventKey).toMatch(/^fp:[\w-]+:RECURRING_CONTRACT:true$/);
    const opened = unsealWebhookSecrets(cipher, sealed.payload);
    expect(opened.token).toBe(token);
    expect(opened.data).toEqual({ token, amount: 1 });
  });

  it('operators see a marker, neither the token nor its ciphertext', () => {
    const sealed = sealWebhookSecrets(cipher, { eventKey: 'k', payload: { data: { token } } });
    expect(redactWebhookSecrets(sealed.payload)).toEqual({ data: { token: '[sealed]' } });
  });

  it('leaves payloads without tokens untouched', () => {
    const event = { eventKey: 'a:CAPTURE:true', payload: { reference: 'r', amount: { value: 5 } } };
    expect(sealWebhookSecrets(cipher, event)).toEqual(event);
    // nothing to seal: the same object back, no copy
    expect(sealWebhookSecrets(cipher, event)).toBe(event);
  });

  it('finds a token at any depth, in arrays too, and an empty one is no token', () => {
    const token = 'tok_1234567890';
    const deep = {
      eventKey: `k:${token}`,
      payload: { items: [{ a: 1 }, { nested: { recurringToken: token } }] },
    };
    const sealed = sealWebhookSecrets(cipher, deep);
    expect(sealed).not.toBe(deep);
    expect(JSON.stringify(sealed)).not.toContain(token);
    expect(unsealWebhookSecrets(cipher, sealed.payload)).toEqual(deep.payload);
    const empty = { eventKey: 'k', payload: { token: '' } };
    expect(sealWebhookSecrets(cipher, empty)).toBe(empty);
  });

  it('fingerprints each token once, however many strings the payload holds (one HMAC per token, not per string)', () => {
    const strings = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`field${i}`, `value ${i}`]));
    const event = {
      eventKey: `${token}:RECURRING_CONTRACT:true`,
      payload: {
        pspReference: token,
        additionalData: { ...strings, 'recurring.recurringDetailReference': token },
      },
    };
    const fingerprint = jest.spyOn(cipher, 'fingerprint');
    try {
      const sealed = sealWebhookSecrets(cipher, event);
      expect(fingerprint).toHaveBeenCalledTimes(1);
      expect(sealed.payload.pspReference).toBe(`fp:${cipher.fingerprint(token)}`);
      expect(sealed.eventKey).toBe(`fp:${cipher.fingerprint(token)}:RECURRING_CONTRACT:true`);
      expect((sealed.payload.additionalData as Record<string, unknown>).field7).toBe('value 7');
    } finally {
      fingerprint.mockRestore();
    }
  });
});
