import type { CardMetadata } from '../gateways/gateway.provider';
import { PaymentDetailsEntity } from './payment-details.entity';

export interface PaymentDetailsView {
  id: string;
  customerId: string;
  gateway: string;
  status: string;
  card: CardMetadata;
  cleengPaymentDetailsId: string | null;
  createdAt: string;
}

/** Never the token. */
export function toPaymentDetailsView(d: PaymentDetailsEntity): PaymentDetailsView {
  return {
    id: d.id,
    customerId: d.customerId,
    gateway: d.gateway,
    status: d.status,
    card: d.card,
    cleengPaymentDetailsId: d.cleengPaymentDetailsId,
    createdAt: d.createdAt.toISOString(),
  };
}
