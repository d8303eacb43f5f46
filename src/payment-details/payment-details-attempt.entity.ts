import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import type { GatewayId } from '../gateways/gateway-ids';

/**
 * A tokenisation asked for under a caller-scoped Idempotency-Key, recorded before the gateway call: its id is
 * in the gateway idempotency key, so a retry after a crash repeats the same key (one token), and the details it
 * produced are returned instead of being stored twice.
 */
@Entity('payment_details_attempts')
export class PaymentDetailsAttemptEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ name: 'request_scope', type: 'text' }) requestScope!: string;
  @Column({ name: 'request_key', type: 'text' }) requestKey!: string;
  @Column({ name: 'customer_id', type: 'text' }) customerId!: string;
  @Column({ type: 'text' }) gateway!: GatewayId;
  @Column({ name: 'payment_details_id', type: 'uuid', nullable: true }) paymentDetailsId!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}
