import type { GatewayAction } from '../gateways/gateway.provider';
import { PaymentEntity } from './payment.entity';

export interface PaymentView {
  id: string;
  orderId: string;
  gateway: string;
  operation: string;
  status: string;
  amount: { value: number; currency: string };
  externalPaymentId?: string;
  action?: GatewayAction;
  decline?: { code: string; class: string; reason: string; rawCode?: string };
  createdAt: string;
  updatedAt: string;
}

export function toPaymentView(p: PaymentEntity): PaymentView {
  return {
    id: p.id,
    orderId: p.orderId,
    gateway: p.gateway,
    operation: p.operation,
    status: p.status,
    amount: { value: p.amountMinor, currency: p.currency },
    ...(p.externalPaymentId ? { externalPaymentId: p.externalPaymentId } : {}),
    ...(p.action && p.status === 'action_required' ? { action: p.action } : {}),
    ...(p.decline
      ? {
          decline: {
            code: p.decline.code,
            class: p.decline.class,
            reason: p.decline.reason,
            ...(p.decline.rawCode ? { rawCode: p.decline.rawCode } : {}),
          },
        }
      : {}),
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}
