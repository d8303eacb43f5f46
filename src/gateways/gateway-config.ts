import { ConfigSection } from '../config/config.factory';
import { GATEWAY_DEFINITIONS } from './gateways';

/** The env block of every registered gateway, for `loadConfig` to validate at boot. */
export function gatewayConfigSections(): ConfigSection[] {
  return GATEWAY_DEFINITIONS.map((definition) => ({ name: definition.id, schema: definition.env }));
}
