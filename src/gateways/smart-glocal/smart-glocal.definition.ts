import { defineGateway } from '../gateway-definition';
import { SmartGlocalGateway } from './smart-glocal.gateway';
import { SMART_GLOCAL_OPTIONS, SmartGlocalEnv, smartGlocalOptions } from './smart-glocal.options';

export const smartGlocalGateway = defineGateway({
  id: 'smart-glocal',
  env: SmartGlocalEnv,
  options: smartGlocalOptions,
  optionsToken: SMART_GLOCAL_OPTIONS,
  provider: SmartGlocalGateway,
  // no published ceiling: a conservative default until one is agreed with the account manager
  callsPerSecond: 50,
});
