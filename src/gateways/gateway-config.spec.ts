import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMPLETE_ENV } from '../../test/support/complete-env';
import { ConfigError, loadConfig } from '../config/config.factory';
import { AdyenEnv } from './adyen/adyen.options';
import { gatewayConfigSections } from './gateway-config';

const dataDir = (): string => mkdtempSync(join(tmpdir(), 'gw-cfg-'));
const production = {
  ...COMPLETE_ENV,
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://localhost/x',
  ADYEN_API_KEY: 'ak',
  CLEVERBRIDGE_USERNAME: 'u',
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
    ['SMART_GLOCAL_PRIVATE_KEY', 'not a key'],
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
