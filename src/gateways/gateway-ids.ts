/** Every gateway the product knows, implemented or not. */
export const GATEWAY_IDS = ['adyen', 'cleverbridge', 'smart-glocal', 'smartpay'] as const;
export type GatewayId = (typeof GATEWAY_IDS)[number];

export function isGatewayId(value: string): value is GatewayId {
  return (GATEWAY_IDS as readonly string[]).includes(value);
}
