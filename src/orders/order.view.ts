import { OrderEntity } from './order.entity';

export interface OrderView {
  id: string;
  cleengOrderId: string;
  customerId: string;
  offerId: string;
  gateway: string;
  paymentMethodId: number;
  amount: { value: number; currency: string };
  country: string;
  status: string;
  expiresAt: string | null;
  createdAt: string;
}

export function toOrderView(o: OrderEntity): OrderView {
  return {
    id: o.id,
    cleengOrderId: o.cleengOrderId,
    customerId: o.customerId,
    offerId: o.offerId,
    gateway: o.gateway,
    paymentMethodId: o.paymentMethodId,
    amount: { value: o.amountMinor, currency: o.currency },
    country: o.country,
    status: o.status,
    expiresAt: o.expiresAt?.toISOString() ?? null,
    createdAt: o.createdAt.toISOString(),
  };
}
