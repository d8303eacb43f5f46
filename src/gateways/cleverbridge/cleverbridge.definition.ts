import { defineGateway } from '../gateway-definition';
import { CleverbridgeGateway } from './cleverbridge.gateway';
import { CLEVERBRIDGE_OPTIONS, CleverbridgeEnv, cleverbridgeOptions } from './cleverbridge.options';

export const cleverbridgeGateway = defineGateway({
  id: 'cleverbridge',
  env: CleverbridgeEnv,
  options: cleverbridgeOptions,
  optionsToken: CLEVERBRIDGE_OPTIONS,
  provider: CleverbridgeGateway,
  // its REST API allows at most 150 requests/s per IP, and the ProcessCart docs ask to agree volumes with Client
  // Experience before calling it often: a fraction of that until they are agreed
  callsPerSecond: 20,
});
