import { defineGateway } from '../gateway-definition';
import { AdyenGateway } from './adyen.gateway';
import { ADYEN_OPTIONS, AdyenEnv, adyenOptions } from './adyen.options';

export const adyenGateway = defineGateway({
  id: 'adyen',
  env: AdyenEnv,
  options: adyenOptions,
  optionsToken: ADYEN_OPTIONS,
  provider: AdyenGateway,
  // the single-use redirectResult on the return URL authorises the payment: never log it
  redactPaths: ['req.query.redirectResult'],
  // Adyen publishes no fixed ceiling but throttles bursts per merchant account; raise it with GATEWAY_RATE_LIMITS
  callsPerSecond: 200,
});
