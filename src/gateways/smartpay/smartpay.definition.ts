import { defineGateway } from '../gateway-definition';
import { SmartPayGateway } from './smartpay.gateway';
import { SMARTPAY_OPTIONS, SmartPayEnv, smartPayOptions } from './smartpay.options';

export const smartPayGateway = defineGateway({
  id: 'smartpay',
  env: SmartPayEnv,
  options: smartPayOptions,
  optionsToken: SMARTPAY_OPTIONS,
  provider: SmartPayGateway,
  // no published ceiling: a conservative default until one is agreed with the account manager
  callsPerSecond: 50,
});
