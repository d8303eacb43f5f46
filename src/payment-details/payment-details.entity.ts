import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { TransitionTable } from '../common/state-machine';
import type { CardMetadata } from '../gateways/gateway.provider';
import type { GatewayId } from '../gateways/gateway-ids';

export type PaymentDetailsStatus = 'active' | 'deactivated' | 'deleted';
export const PAYMENT_DETAILS_TRANSITIONS: TransitionTable<PaymentDetailsStatus> = {
  active: ['deactivated', 'deleted'],
  deactivated: ['deleted'],
  deleted: [],
};

/** A recurring token (sealed with AES-256-GCM) and the card facts safe to show. */
@Entity('payment_details')
export class PaymentDetailsEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'customer_id', type: 'text' }) customerId!: string;
  @Column({ type: 'text' }) gateway!: GatewayId;
  @Column({ name: 'shopper_reference', type: 'text' }) shopperReference!: string;
  @Column({ name: 'token_sealed', type: 'text' }) tokenSealed!: string;
  @Column({ type: 'jsonb' }) card!: CardMetadata;
  @Column({ name: 'cleeng_payment_details_id', type: 'text', nullable: true }) cleengPaymentDetailsId!:
    string | null;
  @Column({ type: 'text' }) status!: PaymentDetailsStatus;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
