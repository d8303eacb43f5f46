import { generateKeyPairSync } from 'node:crypto';
import { signBody, verifyBody } from './smart-glocal.signature';

const ours = generateKeyPairSync('rsa', { modulusLength: 2048 });
const theirs = generateKeyPairSync('rsa', { modulusLength: 2048 });

describe('X-PARTNER-SIGN', () => {
  const body = Buffer.from('{"session_id":"ps_3230"}');

  it('is RSA-SHA256 over the exact bytes, Base64, verified with the matching public key', () => {
    const signature = signBody(body, ours.privateKey);
    expect(signature).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(signature, 'base64')).toHaveLength(256);
    expect(verifyBody(body, signature, ours.publicKey)).toBe(true);
  });

  it('fails for other bytes (one space more), another key, or a signature that is not Base64', () => {
    const signature = signBody(body, ours.privateKey);
    expect(verifyBody(Buffer.from('{"session_id": "ps_3230"}'), signature, ours.publicKey)).toBe(false);
    expect(verifyBody(body, signature, theirs.publicKey)).toBe(false);
    expect(verifyBody(body, signBody(body, theirs.privateKey), ours.publicKey)).toBe(false);
    expect(verifyBody(body, '721af394d5a7aefd0e91f5390abc4d7e!', ours.publicKey)).toBe(false);
    expect(verifyBody(body, '', ours.publicKey)).toBe(false);
  });
});
