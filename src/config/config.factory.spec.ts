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
    expect(config.adyen.apiUrl).toBe('http://localhost:3000/sandbox/adyen/v71');
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
    [{ CLEENG_PAYMENT_METHODS: 'paypal:1' }, 'CLEENG_PAYMENT_METHODS'],
    [{ ADYEN_HMAC_KEY: 'xyz' }, 'ADYEN_HMAC_KEY'],
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

describe('loadConfig: limits and hardening', () => {
  it('has defaults for rate limits, docs and database timeouts', () => {
    const config = loadConfig({ DATA_DIR: dataDir() });
    expect(config.rateLimit).toEqual({ perMinute: 1200, tokenisePerHour: 60 });
    expect(config.docsEnabled).toBe(true);
    expect(config.databaseStatementTimeoutMs).toBe(30000);
    expect(config.databaseConnectTimeoutMs).toBe(10000);
  });

  it('reads them from the environment', () => {
    const config = loadConfig({
      DATA_DIR: dataDir(),
      RATE_LIMIT_PER_MINUTE: '5',
      TOKENISE_RATE_LIMIT_PER_HOUR: '2',
      DOCS_ENABLED: 'false',
      DATABASE_STATEMENT_TIMEOUT_MS: '0',
      DATABASE_CONNECT_TIMEOUT_MS: '2500',
    });
    expect(config.rateLimit).toEqual({ perMinute: 5, tokenisePerHour: 2 });
    expect(config.docsEnabled).toBe(false);
    expect(config.databaseStatementTimeoutMs).toBe(0);
    expect(config.databaseConnectTimeoutMs).toBe(2500);
  });

  it.each([
    [{ RATE_LIMIT_PER_MINUTE: '0' }, 'RATE_LIMIT_PER_MINUTE'],
    [{ TOKENISE_RATE_LIMIT_PER_HOUR: 'many' }, 'TOKENISE_RATE_LIMIT_PER_HOUR'],
    [{ DATABASE_STATEMENT_TIMEOUT_MS: '-1' }, 'DATABASE_STATEMENT_TIMEOUT_MS'],
    [{ DATABASE_CONNECT_TIMEOUT_MS: 'soon' }, 'DATABASE_CONNECT_TIMEOUT_MS'],
  ])('fails fast naming the bad variable for %j', (env, name) => {
    expect(() => loadConfig({ DATA_DIR: dataDir(), ...env })).toThrow(name);
  });
});
