import { randomBytes } from 'node:crypto';
import { TokenCipher } from './token-cipher';

describe('TokenCipher', () => {
  const cipher = new TokenCipher(randomBytes(32));

  it('round-trips and never stores the plain token', () => {
    const sealed = cipher.encrypt('8415995487234100');
    expect(sealed).not.toContain('8415995487234100');
    expect(cipher.decrypt(sealed)).toBe('8415995487234100');
    expect(cipher.encrypt('x')).not.toBe(cipher.encrypt('x'));
  });

  it('detects tampering and wrong keys', () => {
    const sealed = cipher.encrypt('token');
    const parts = sealed.split('.');
    const data = Buffer.from(parts[3] ?? '', 'base64url');
    data[0] = (data[0] ?? 0) ^ 1;
    parts[3] = data.toString('base64url');
    expect(() => cipher.decrypt(parts.join('.'))).toThrow();
    expect(() => new TokenCipher(randomBytes(32)).decrypt(sealed)).toThrow();
    expect(() => new TokenCipher(randomBytes(16))).toThrow('32 bytes');
  });
});
