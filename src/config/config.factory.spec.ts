import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './config.factory';

const dataDir = (): string => mkdtempSync(join(tmpdir(), 'cfg-'));

describe('loadConfig', () => {
  it('runs on sandbox defaults with nothing set', () => {
    const config = loadConfig({ DATA_DIR: dataDir() });
    expect(config.sandbox).toBe(true);
    expect(config.port).toBe(3000);
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(config.cleeng.apiUrl).toBe('http://localhost:3000/sandbox/cleeng/3.1');
    expect(config.cleeng.paymentMethods.get('adyen')).toBe(101);
    expect(config.encryptionKey).toHaveLength(32);
    expect(config.encryptionKeyGenerated).toBe(true);
    expect(config.databaseUrl).toBeUndefined();
  });

  it('keeps the generated sandbox key across restarts', () => {
    const dir = dataDir();
    expect(
      loadConfig({ DATA_DIR: dir }).encryptionKey.equals(loadConfig({ DATA_DIR: dir }).encryptionKey),
    ).toBe(true);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ ENCRYPTION_KEY: 'short' }, 'ENCRYPTION_KEY'],
    [{ CLEENG_PAYMENT_METHODS: 'adyen=1' }, 'CLEENG_PAYMENT_METHODS'],
    [{ CLEENG_PAYMENT_METHODS: 'adyen:1,adyen:2' }, 'CLEENG_PAYMENT_METHODS'],
    [{ PUBLIC_URL: 'not a url' }, 'PUBLIC_URL'],
  ])('fails fast naming the bad variable for %j', (env, name) => {
    expect(() => loadConfig({ DATA_DIR: dataDir(), ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ DATA_DIR: dataDir(), ...env })).toThrow(name);
  });

  it('requires real settings in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow('DATABASE_URL');
    expect(() => loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x' })).toThrow(
      'ENCRYPTION_KEY',
    );
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        DATABASE_URL: 'postgres://db/x',
        ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
      }),
    ).toThrow('API_KEYS');
  });
});
