import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { bigintToNumber } from '../common/database/column-transformers';
import { TransitionTable } from '../common/state-machine';

/** `pending`: accepted by the gateway, outcome by webhook; `unknown`: no answer (replayed under the same key). */
export type RefundStatus = 'requested' | 'pending' | 'unknown' | 'succeeded' | 'failed';
export const REFUND_TRANSITIONS: TransitionTable<RefundStatus> = {
  requested: ['pending', 'unknown', 'succeeded', 'failed'],
  unknown: ['pending', 'succeeded', 'failed'],
  pending: ['succeeded', 'failed'],
  // Adyen REFUND_FAILED after REFUND: the money went back to the merchant
  succeeded: ['failed'],
  failed: [],
};

@Entity('refunds')
export class RefundEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'payment_id', type: 'uuid' }) paymentId!: string;
  @Column({ name: 'amount_minor', type: 'bigint', transformer: bigintToNumber }) amountMinor!: number;
  @Column({ type: 'char', length: 3 }) currency!: string;
  @Column({ type: 'text' }) status!: RefundStatus;
  @Column({ type: 'text', nullable: true }) reason!: string | null;
  @Column({ type: 'text' }) source!: 'cleeng' | 'api' | 'gateway';
  @Column({ name: 'source_key', type: 'text' }) sourceKey!: string;
  @Column({ name: 'external_refund_id', type: 'text', nullable: true }) externalRefundId!: string | null;
  @Column({ name: 'last_error', type: 'text', nullable: true }) lastError!: string | null;
  /** when the reconciler next looks at this row while it is open (ordered by it, backed off by check_attempts) */
  @Column({ name: 'next_check_at', type: 'timestamptz', default: () => 'now()' }) nextCheckAt!: Date;
  @Column({ name: 'check_attempts', type: 'int', default: 0 }) checkAttempts!: number;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
