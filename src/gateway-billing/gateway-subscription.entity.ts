import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { bigintToNumber } from '../common/database/column-transformers';
import { TransitionTable } from '../common/state-machine';
import type { GatewayId } from '../gateways/gateway-ids';
import type { GatewaySubscriptionStatus } from '../gateways/gateway.provider';

/**
 * The gateway's own status, mirrored. `cancelled` and `ended` are final: the Cleeng subscription is terminated.
 * A paused subscription may resume; a pending one (no payment option stored yet) may start or be dropped.
 */
export const GATEWAY_SUBSCRIPTION_TRANSITIONS: TransitionTable<GatewaySubscriptionStatus> = {
  pending: ['active', 'paused', 'cancelled', 'ended'],
  active: ['paused', 'cancelled', 'ended'],
  paused: ['active', 'cancelled', 'ended'],
  cancelled: [],
  ended: [],
};

/** A subscription whose schedule the gateway runs (billing mode 2), with the initial payment it pays. */
@Entity('gateway_subscriptions')
export class GatewaySubscriptionEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'text' }) gateway!: GatewayId;
  @Column({ name: 'external_subscription_id', type: 'text' }) externalSubscriptionId!: string;
  @Column({ name: 'payment_id', type: 'uuid' }) paymentId!: string;
  @Column({ name: 'order_id', type: 'uuid' }) orderId!: string;
  @Column({ name: 'customer_id', type: 'text' }) customerId!: string;
  @Column({ name: 'offer_id', type: 'text' }) offerId!: string;
  @Column({ name: 'payment_method_id', type: 'integer' }) paymentMethodId!: number;
  @Column({ name: 'amount_minor', type: 'bigint', transformer: bigintToNumber }) amountMinor!: number;
  @Column({ type: 'char', length: 3 }) currency!: string;
  @Column({ type: 'text' }) status!: GatewaySubscriptionStatus;
  /** the first billing cycle's transaction: it settles the initial payment, every later one is a renewal */
  @Column({ name: 'initial_transaction_id', type: 'text', nullable: true }) initialTransactionId!:
    string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
