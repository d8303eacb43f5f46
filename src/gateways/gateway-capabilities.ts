import { GatewayCapabilities } from './gateway.provider';
import { GatewayId } from './gateway-ids';

/** Declared up front for all four gateways; the registry refuses gateways not yet implemented. */
export const GATEWAY_CAPABILITIES: Record<GatewayId, GatewayCapabilities> = {
  adyen: {
    separateCapture: true,
    zeroAmountAuth: true,
    tokenisation: true,
    partialRefund: true,
    threeDSecure: true,
    gatewayManagedSchedule: false,
    connectorManagedRebill: true,
    refundsByCaptureId: false,
  },
  cleverbridge: {
    separateCapture: false,
    zeroAmountAuth: false,
    tokenisation: false,
    partialRefund: true,
    threeDSecure: false,
    gatewayManagedSchedule: true,
    connectorManagedRebill: true,
    refundsByCaptureId: false,
  },
  'smart-glocal': {
    separateCapture: true,
    zeroAmountAuth: false,
    tokenisation: true,
    partialRefund: true,
    threeDSecure: true,
    gatewayManagedSchedule: false,
    connectorManagedRebill: true,
    refundsByCaptureId: false,
  },
  smartpay: {
    separateCapture: false,
    zeroAmountAuth: false,
    tokenisation: true,
    partialRefund: true,
    threeDSecure: true,
    gatewayManagedSchedule: true,
    connectorManagedRebill: true,
    refundsByCaptureId: false,
  },
};
