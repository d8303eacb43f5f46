import { DataSource } from 'typeorm';
import type { RefundPaymentData } from '../cleeng/cleeng-webhook.types';
import type { GatewayId } from '../gateways/gateway-ids';
import { OrderEntity } from '../orders/order.entity';
import { PaymentEntity } from '../payments/payment.entity';

/** A refundPayment names a payment we hold under another Cleeng payment id: never refund it. */
export class CleengRefundMismatchError extends Error {}

/**
 * The local payment a refundPayment is about. Cleeng's `paymentId` first (it is what Cleeng
 * refunds); our row may not know it yet when the report is still in the outbox, so then the
 * gateway's payment id (on the payment method's gateway), then Cleeng's order id when that order
 * has exactly one captured payment. A fallback match that already carries a different Cleeng
 * payment id is a mismatch, not a match.
 */
export async function findRefundedPayment(
  db: DataSource,
  data: RefundPaymentData,
  gateway: GatewayId | undefined,
): Promise<PaymentEntity | null> {
  const payments = db.getRepository(PaymentEntity);
  const cleengPaymentId = String(data.paymentId);
  const exact = await payments.findOneBy({ cleengPaymentId });
  if (exact) {
    return exact;
  }
  let candidate: PaymentEntity | null = null;
  if (data.externalPaymentId) {
    candidate = await payments.findOneBy({
      externalPaymentId: data.externalPaymentId,
      ...(gateway ? { gateway } : {}),
    });
  }
  if (!candidate && data.orderId !== undefined && data.orderId !== null) {
    const order = await db.getRepository(OrderEntity).findOneBy({ cleengOrderId: String(data.orderId) });
    const captured = order
      ? (await payments.findBy({ orderId: order.id })).filter((p) => p.capturedMinor > 0)
      : [];
    candidate = captured.length === 1 ? (captured[0] ?? null) : null;
  }
  if (candidate?.cleengPaymentId && candidate.cleengPaymentId !== cleengPaymentId) {
    throw new CleengRefundMismatchError(
      `refundPayment for Cleeng payment ${cleengPaymentId} matches local payment ${candidate.id}, ` +
        `which is Cleeng payment ${candidate.cleengPaymentId}: not refunded`,
    );
  }
  return candidate;
}
