import { RefundEntity } from './refund.entity';

export interface RefundView {
  id: string;
  paymentId: string;
  amount: { value: number; currency: string };
  status: string;
  reason: string | null;
  source: string;
  externalRefundId: string | null;
  createdAt: string;
}

export function toRefundView(r: RefundEntity): RefundView {
  return {
    id: r.id,
    paymentId: r.paymentId,
    amount: { value: r.amountMinor, currency: r.currency },
    status: r.status,
    reason: r.reason,
    source: r.source,
    externalRefundId: r.externalRefundId,
    createdAt: r.createdAt.toISOString(),
  };
}
