import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../config/config.factory';
import { AdyenEnv } from './adyen/adyen.options';
import { gatewayConfigSections } from './gateway-config';

const dataDir = (): string => mkdtempSync(join(tmpdir(), 'gw-cfg-'));
const production = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://localhost/x',
  ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  API_KEYS: 'k',
  OPERATOR_KEY: 'o',
  CUSTOMER_JWKS_URL: 'https://example.com/jwks.json',
  CLEENG_API_URL: 'https://api.cleeng.com/3.1',
  CLEENG_PUBLISHER_TOKEN: 't',
  CLEENG_WEBHOOK_SECRET: 's',
  CLEENG_PAYMENT_METHODS: 'adyen:101,cleverbridge:104',
  ADYEN_API_URL: 'https://checkout-test.adyen.com/v71',
  ADYEN_API_KEY: 'ak',
  ADYEN_MERCHANT_ACCOUNT: 'M',
  ADYEN_HMAC_KEY: 'AABB',
  CLEVERBRIDGE_API_URL: 'https://rest.cleverbridge.com',
  CLEVERBRIDGE_USERNAME: 'u',
  CLEVERBRIDGE_PASSWORD: 'p',
  CLEVERBRIDGE_NOTIFY_USERNAME: 'nu',
  CLEVERBRIDGE_NOTIFY_PASSWORD: 'np',
  SMARTPAY_API_URL: 'https://smartpay.example.com',
  SMARTPAY_MERCHANT_KEY: 'mk',
  SMARTPAY_AUTH_KEY: 'ak',
  SMARTPAY_NOTIFY_USERNAME: 'su',
  SMARTPAY_NOTIFY_PASSWORD: 'sp',
  SMARTPAY_WIDGET_URL: 'https://sdk.smartpay.example.com/smp-bundle.js',
};

describe('gateway env blocks in loadConfig', () => {
  it('validates each gateway block and hands it over by gateway id', () => {
    const config = loadConfig(production, gatewayConfigSections());
    expect(config.sections.get('adyen')).toBeInstanceOf(AdyenEnv);
    expect(config.sections.get('adyen')).toMatchObject({ ADYEN_API_KEY: 'ak', ADYEN_ZERO_AUTH: true });
    expect(config.sections.get('cleverbridge')).toMatchObject({ CLEVERBRIDGE_USERNAME: 'u' });
  });

  it.each([
    ['ADYEN_API_KEY', undefined],
    ['ADYEN_HMAC_KEY', 'not-hex'],
    ['ADYEN_HMAC_KEY_PREVIOUS', 'zz'],
    ['CLEVERBRIDGE_NOTIFY_PASSWORD', undefined],
    ['CLEVERBRIDGE_API_URL', 'not a url'],
    ['SMARTPAY_AUTH_KEY', undefined],
    ['SMARTPAY_WIDGET_URL', 'not a url'],
  ])('fails fast naming %s outside the sandbox', (name, value) => {
    const env = { ...production, [name]: value };
    expect(() => loadConfig(env, gatewayConfigSections())).toThrow(ConfigError);
    expect(() => loadConfig(env, gatewayConfigSections())).toThrow(name);
  });

  it('has no sandbox fallback: with SANDBOX=true a missing gateway variable is still an error naming it', () => {
    const env: Record<string, string> = {
      ...production,
      NODE_ENV: 'test',
      SANDBOX: 'true',
      DATA_DIR: dataDir(),
    };
    delete env.ADYEN_API_URL;
    expect(() => loadConfig(env, gatewayConfigSections())).toThrow('ADYEN_API_URL');
  });
});
