import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMPLETE_ENV } from '../../test/support/complete-env';
import { gatewayConfigSections } from '../gateways/gateway-config';
import { ConfigError, loadConfig, resolveRuntimeMode } from './config.factory';

const dataDir = (): string => mkdtempSync(join(tmpdir(), 'cfg-'));
const KEY = Buffer.alloc(32, 1).toString('base64');

describe('resolveRuntimeMode', () => {
  it('runs the sandbox by default outside production, on port 3000', () => {
    expect(resolveRuntimeMode({ DATA_DIR: '/tmp/x' })).toEqual({
      production: false,
      sandbox: true,
      port: 3000,
      publicUrl: 'http://localhost:3000',
      dataDir: '/tmp/x',
    });
  });

  it('has no sandbox in production unless asked, and refuses it when asked, naming SANDBOX', () => {
    expect(resolveRuntimeMode({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x' }).sandbox).toBe(
      false,
    );
    expect(() =>
      resolveRuntimeMode({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x', SANDBOX: 'true' }),
    ).toThrow(ConfigError);
    expect(() =>
      resolveRuntimeMode({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x', SANDBOX: 'true' }),
    ).toThrow(/SANDBOX=true is refused with NODE_ENV=production/);
  });

  it('derives PUBLIC_URL from PORT and drops a trailing slash', () => {
    expect(resolveRuntimeMode({ PORT: '8080' }).publicUrl).toBe('http://localhost:8080');
    expect(resolveRuntimeMode({ PUBLIC_URL: 'https://pay.example.test/' }).publicUrl).toBe(
      'https://pay.example.test',
    );
  });
});

describe('loadConfig', () => {
  it('reads a complete environment', () => {
    const config = loadConfig({ ...COMPLETE_ENV, DATA_DIR: dataDir(), SANDBOX: 'false' });
    expect(config.sandbox).toBe(false);
    expect(config.port).toBe(3000);
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(config.cleeng.apiUrl).toBe('https://api.cleeng.example.test/3.1');
    expect(config.cleeng.paymentMethods.get('adyen')).toBe(101);
    expect(config.encryptionKey).toHaveLength(32);
    expect(config.apiKeys).toEqual(['key-1']);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.gatewayRateLimits.size).toBe(0);
  });

  it('reads per-gateway calls-per-second ceilings', () => {
    const config = loadConfig({
      ...COMPLETE_ENV,
      DATA_DIR: dataDir(),
      GATEWAY_RATE_LIMITS: ' cleverbridge=2000, adyen=500 ',
    });
    expect([...config.gatewayRateLimits]).toEqual([
      ['cleverbridge', 2000],
      ['adyen', 500],
    ]);
  });

  it('reads per-gateway inbox bounds, each capped at INBOX_CONCURRENCY', () => {
    const config = loadConfig({
      ...COMPLETE_ENV,
      DATA_DIR: dataDir(),
      INBOX_CONCURRENCY: '32',
      INBOX_GATEWAY_CONCURRENCY_BY_GATEWAY: 'adyen=24, cleverbridge=64',
    });
    expect(config.inbox.gatewayConcurrency).toBe(8);
    expect([...config.inbox.gatewayConcurrencyByGateway]).toEqual([
      ['adyen', 24],
      ['cleverbridge', 32],
    ]);
  });

  it('has no sandbox fallback: with SANDBOX=true a missing variable is still an error naming it', () => {
    for (const name of Object.keys(COMPLETE_ENV)) {
      const env: Record<string, string> = { ...COMPLETE_ENV, SANDBOX: 'true', DATA_DIR: dataDir() };
      delete env[name];
      expect(() => loadConfig(env, gatewayConfigSections())).toThrow(ConfigError);
      expect(() => loadConfig(env, gatewayConfigSections())).toThrow(name);
    }
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ ENCRYPTION_KEY: 'short' }, 'ENCRYPTION_KEY'],
    [{ CLEENG_PAYMENT_METHODS: 'adyen=1' }, 'CLEENG_PAYMENT_METHODS'],
    [{ CLEENG_PAYMENT_METHODS: 'adyen:1,adyen:2' }, 'CLEENG_PAYMENT_METHODS'],
    [{ PUBLIC_URL: 'not a url' }, 'PUBLIC_URL'],
    [{ GATEWAY_RATE_LIMITS: 'cleverbridge:20' }, 'GATEWAY_RATE_LIMITS'],
    [{ GATEWAY_RATE_LIMITS: 'cleverbridge=0' }, 'GATEWAY_RATE_LIMITS'],
    [{ GATEWAY_RATE_LIMITS: 'adyen=5,adyen=6' }, 'GATEWAY_RATE_LIMITS'],
    [{ INBOX_GATEWAY_CONCURRENCY_BY_GATEWAY: 'adyen=0' }, 'INBOX_GATEWAY_CONCURRENCY_BY_GATEWAY'],
    [{ INBOX_GATEWAY_CONCURRENCY_BY_GATEWAY: 'adyen' }, 'INBOX_GATEWAY_CONCURRENCY_BY_GATEWAY'],
  ])('fails fast naming the bad variable for %j', (env, name) => {
    expect(() => loadConfig({ ...COMPLETE_ENV, DATA_DIR: dataDir(), ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ ...COMPLETE_ENV, DATA_DIR: dataDir(), ...env })).toThrow(name);
  });

  it('requires real settings in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow('DATABASE_URL');
    expect(() => loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x' })).toThrow(
      'ENCRYPTION_KEY',
    );
    expect(() =>
      loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x', ENCRYPTION_KEY: KEY }),
    ).toThrow('API_KEYS');
  });

  it('refuses the sandbox in production', () => {
    expect(() =>
      loadConfig({
        ...COMPLETE_ENV,
        NODE_ENV: 'production',
        DATABASE_URL: 'postgres://db/x',
        SANDBOX: 'true',
      }),
    ).toThrow('SANDBOX');
  });
});

describe('loadConfig: limits and hardening', () => {
  it('has defaults for rate limits, docs and database timeouts', () => {
    const config = loadConfig({ ...COMPLETE_ENV, DATA_DIR: dataDir() });
    expect(config.rateLimit).toEqual({ perMinute: 1200, tokenisePerHour: 60 });
    expect(config.docsEnabled).toBe(true);
    expect(config.databaseStatementTimeoutMs).toBe(30000);
    expect(config.databaseConnectTimeoutMs).toBe(10000);
  });

  it('reads them from the environment', () => {
    const config = loadConfig({
      ...COMPLETE_ENV,
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
    expect(() => loadConfig({ ...COMPLETE_ENV, DATA_DIR: dataDir(), ...env })).toThrow(name);
  });
});
