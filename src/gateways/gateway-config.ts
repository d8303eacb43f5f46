import { ConfigSection, SANDBOX_SECRETS } from '../config/config.factory';
import { GATEWAY_DEFINITIONS } from './gateways';

/** The env block of every registered gateway, for `loadConfig` to validate at boot. */
export function gatewayConfigSections(): ConfigSection[] {
  return GATEWAY_DEFINITIONS.map((definition) => ({
    name: definition.id,
    schema: definition.env,
    ...(SANDBOX_FALLBACK[definition.id] ? { sandboxFallback: SANDBOX_FALLBACK[definition.id] } : {}),
  }));
}

// SANDBOX-FALLBACK (removed when the sandbox env overlay lands): values for unset gateway variables, used by
// loadConfig only when SANDBOX is true. The emulators sign and verify with the same secrets.
const SANDBOX_FALLBACK: Record<string, ConfigSection['sandboxFallback']> = {
  adyen: ({ sandboxUrl }) => ({
    ADYEN_API_URL: `${sandboxUrl}/adyen/v71`,
    ADYEN_API_KEY: SANDBOX_SECRETS.adyenApiKey,
    ADYEN_MERCHANT_ACCOUNT: SANDBOX_SECRETS.adyenMerchantAccount,
    ADYEN_HMAC_KEY: SANDBOX_SECRETS.adyenHmacKey,
  }),
  cleverbridge: ({ sandboxUrl }) => ({
    CLEVERBRIDGE_API_URL: `${sandboxUrl}/cleverbridge`,
    CLEVERBRIDGE_USERNAME: SANDBOX_SECRETS.cleverbridgeUsername,
    CLEVERBRIDGE_PASSWORD: SANDBOX_SECRETS.cleverbridgePassword,
    CLEVERBRIDGE_NOTIFY_USERNAME: SANDBOX_SECRETS.cleverbridgeNotifyUsername,
    CLEVERBRIDGE_NOTIFY_PASSWORD: SANDBOX_SECRETS.cleverbridgeNotifyPassword,
  }),
};
// END SANDBOX-FALLBACK
