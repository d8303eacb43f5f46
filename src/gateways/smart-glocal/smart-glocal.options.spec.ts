import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { generateKeyPairSync } from 'node:crypto';
import { SmartGlocalEnv, smartGlocalOptions } from './smart-glocal.options';

const pair = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

function errors(env: Record<string, string>): string[] {
  return validateSync(plainToInstance(SmartGlocalEnv, env)).flatMap((e) =>
    Object.values(e.constraints ?? {}),
  );
}

describe('SMART_GLOCAL_* variables', () => {
  const valid = {
    SMART_GLOCAL_API_URL: 'https://demo.smart-glocal.com/',
    SMART_GLOCAL_PROJECT: 'shop',
    SMART_GLOCAL_PRIVATE_KEY: pair.privateKey,
    // a one-line .env value with \n escapes
    SMART_GLOCAL_PUBLIC_KEY: pair.publicKey.replace(/\n/g, '\\n'),
  };

  it('accepts PEM keys (also with \\n escapes) and resolves them', () => {
    expect(errors(valid)).toEqual([]);
    const options = smartGlocalOptions(plainToInstance(SmartGlocalEnv, valid));
    expect(options.apiUrl).toBe('https://demo.smart-glocal.com');
    expect(options.privateKey.type).toBe('private');
    expect(options.publicKey.type).toBe('public');
  });

  it('names the variable that is wrong', () => {
    expect(errors({ ...valid, SMART_GLOCAL_PRIVATE_KEY: 'not a key' }).join()).toMatch(
      /SMART_GLOCAL_PRIVATE_KEY/,
    );
    expect(
      errors({ ...valid, SMART_GLOCAL_PUBLIC_KEY: pair.privateKey.replace('PRIVATE', 'X') }).join(),
    ).toMatch(/SMART_GLOCAL_PUBLIC_KEY/);
    expect(errors({ ...valid, SMART_GLOCAL_PROJECT: '' }).join()).toMatch(/SMART_GLOCAL_PROJECT/);
  });
});
