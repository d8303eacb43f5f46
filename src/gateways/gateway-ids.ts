import { GATEWAY_DEFINITIONS } from './gateways';

/** A gateway's id as stored in rows; which ids exist is the registry's business (gateways.ts). */
export type GatewayId = string;

/** Every gateway this build implements (the list in gateways.ts). */
export const GATEWAY_IDS: readonly GatewayId[] = GATEWAY_DEFINITIONS.map((d) => d.id);
