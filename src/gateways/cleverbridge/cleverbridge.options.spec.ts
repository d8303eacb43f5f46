import 'reflect-metadata';
import { COMPLETE_ENV } from '../../../test/support/complete-env';
import { ConfigError, loadConfig } from '../../config/config.factory';
import { gatewayConfigSections } from '../gateway-config';
import { CleverbridgeEnv, cleverbridgeOptions } from './cleverbridge.options';

const production = {
  ...COMPLETE_ENV,
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://localhost/x',
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
