import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { bigintToNumber } from '../common/database/column-transformers';
import { TransitionTable } from '../common/state-machine';
import type { GatewayId } from '../gateways/gateway-ids';

export type OrderStatus = 'open' | 'paid';
export const ORDER_TRANSITIONS: TransitionTable<OrderStatus> = {
  open: ['paid'],
  // a capture that fails after it was reported (Adyen CAPTURE_FAILED) reopens the order
  paid: ['open'],
};

export type PaymentOperation = 'initial-payment' | 'initial-free-transaction' | 'recurring-payment';

/** Local mirror of a Cleeng order: what the customer must be charged, exactly. */
@Entity('orders')
export class OrderEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'cleeng_order_id', type: 'text' }) cleengOrderId!: string;
  @Column({ name: 'customer_id', type: 'text' }) customerId!: string;
  @Column({ name: 'offer_id', type: 'text' }) offerId!: string;
  @Column({ type: 'text' }) gateway!: GatewayId;
  @Column({ name: 'payment_method_id', type: 'integer' }) paymentMethodId!: number;
  @Column({ name: 'amount_minor', type: 'bigint', transformer: bigintToNumber }) amountMinor!: number;
  @Column({ type: 'char', length: 3 }) currency!: string;
  @Column({ type: 'char', length: 2 }) country!: string;
  @Column({ name: 'payment_operation', type: 'text' }) paymentOperation!: PaymentOperation;
  @Column({ name: 'cleeng_subscription_id', type: 'text', nullable: true }) cleengSubscriptionId!:
    string | null;
  @Column({ type: 'text' }) status!: OrderStatus;
  /** the inbox event (Cleeng renewal webhook) that created this recurring order */
  @Column({ name: 'source_event_id', type: 'uuid', nullable: true }) sourceEventId!: string | null;
  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true }) expiresAt!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
