import { defineGateway } from '../gateway-definition';
import { CleverbridgeGateway } from './cleverbridge.gateway';
import { CLEVERBRIDGE_OPTIONS, CleverbridgeEnv, cleverbridgeOptions } from './cleverbridge.options';

export const cleverbridgeGateway = defineGateway({
  id: 'cleverbridge',
  env: CleverbridgeEnv,
  options: cleverbridgeOptions,
  optionsToken: CLEVERBRIDGE_OPTIONS,
  provider: CleverbridgeGateway,
});
