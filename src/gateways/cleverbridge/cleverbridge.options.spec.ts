import 'reflect-metadata';
import { ConfigError, loadConfig } from '../../config/config.factory';
import { gatewayConfigSections } from '../gateway-config';
import { CleverbridgeEnv, cleverbridgeOptions } from './cleverbridge.options';

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
};

function cleverbridgeEnv(env: Record<string, string | undefined>): CleverbridgeEnv {
  return loadConfig(env, gatewayConfigSections()).sections.get('cleverbridge') as CleverbridgeEnv;
}

describe('CLEVERBRIDGE_DEFAULT_LANGUAGE_ID', () => {
  it('defaults to en and reaches the options', () => {
    expect(cleverbridgeOptions(cleverbridgeEnv(production)).defaultLanguageId).toBe('en');
    expect(
      cleverbridgeOptions(cleverbridgeEnv({ ...production, CLEVERBRIDGE_DEFAULT_LANGUAGE_ID: 'de' }))
        .defaultLanguageId,
    ).toBe('de');
  });

  it.each(['EN', 'english', 'e', 'de-DE'])('refuses %j at boot, naming the variable', (value) => {
    const env = { ...production, CLEVERBRIDGE_DEFAULT_LANGUAGE_ID: value };
    expect(() => loadConfig(env, gatewayConfigSections())).toThrow(ConfigError);
    expect(() => loadConfig(env, gatewayConfigSections())).toThrow('CLEVERBRIDGE_DEFAULT_LANGUAGE_ID');
  });
});
