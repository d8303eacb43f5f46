import { adyenGateway } from './adyen/adyen.definition';
import { cleverbridgeGateway } from './cleverbridge/cleverbridge.definition';
import { smartGlocalGateway } from './smart-glocal/smart-glocal.definition';
import { smartPayGateway } from './smartpay/smartpay.definition';

/** Every gateway this build offers. A new gateway adds its definition here and nothing else outside its folder. */
export const GATEWAY_DEFINITIONS = [
  adyenGateway,
  cleverbridgeGateway,
  smartGlocalGateway,
  smartPayGateway,
] as const;
