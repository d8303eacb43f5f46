import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { bigintToNumber } from '../common/database/column-transformers';
import { TransitionTable } from '../common/state-machine';
import type { Decline } from '../gateways/decline-codes';
import type { CartCustomer } from '../gateways/gateway.provider';
import type { GatewayId } from '../gateways/gateway-ids';

/**
 * A one-off ProcessCart purchase (in-app update, free-to-paid, support hours).
 * - processing: the call is on its way (a crash leaves it here; the notification or a lookup settles it)
 * - unknown: no answer (timeout / 5xx); resolved by Cleverbridge's notification or a lookup, never by a second
 *   purchase (only a lookup that finds nothing lets the caller's retry send the same cart again)
 * - pending: waiting for an offline payment
 * - action_required: the customer must use the checkout URL (unknown customer, missing or declined payment data)
 * - rejected: declined without anything the customer can do here (non-interactive)
 * - invalid: Cleverbridge refused the cart (400): nothing was bought
 */
export type PurchaseStatus =
  | 'processing'
  | 'unknown'
  | 'pending'
  | 'action_required'
  | 'rejected'
  | 'invalid'
  | 'captured'
  | 'partially_refunded'
  | 'refunded'
  | 'charged_back';

export const PURCHASE_TRANSITIONS: TransitionTable<PurchaseStatus> = {
  processing: ['unknown', 'pending', 'action_required', 'rejected', 'invalid', 'captured'],
  // (invalid: a cart sent again after a lookup found nothing, refused this time)
  unknown: ['pending', 'action_required', 'rejected', 'invalid', 'captured'],
  pending: ['captured', 'rejected'],
  action_required: ['captured', 'rejected'],
  // the customer may still pay through the URL a decline came with, or Cleverbridge's own retry may pay
  rejected: ['captured'],
  invalid: [],
  captured: ['partially_refunded', 'refunded', 'charged_back'],
  partially_refunded: ['partially_refunded', 'refunded', 'charged_back'],
  refunded: [],
  charged_back: [],
};

export interface PurchaseItemRecord {
  productId: string;
  quantity: number;
  dynamicPrice?: { value: number; currency: string };
  dynamicName?: string;
  additionalName?: string;
  extraParameters?: Record<string, string>;
}

export interface PurchaseAdjustment {
  type: 'refund' | 'chargeback';
  id: string;
  amountMinor: number;
  at: string;
}

@Entity('purchases')
export class PurchaseEntity {
  /** also the gateway idempotency key (`x-connector-attempt`) and reference (`x-connector-reference`) */
  @PrimaryColumn('uuid') id!: string;
  @Column({ type: 'text' }) gateway!: GatewayId;
  @Column({ type: 'jsonb' }) customer!: CartCustomer;
  @Column({ type: 'jsonb' }) items!: PurchaseItemRecord[];
  @Column({ type: 'text' }) mode!: 'interactive' | 'non-interactive';
  @Column({ name: 'x_parameters', type: 'jsonb' }) xParameters!: Record<string, string>;
  @Column({ type: 'text' }) status!: PurchaseStatus;
  /** Cleverbridge purchase id */
  @Column({ name: 'external_purchase_id', type: 'text', nullable: true }) externalPurchaseId!: string | null;
  /** Cleverbridge subscription the purchase created (initial purchase of a subscription product) */
  @Column({ name: 'external_subscription_id', type: 'text', nullable: true })
  externalSubscriptionId!: string | null;
  /** known when every item has a dynamic price, or from the PaidOrderNotification */
  @Column({ name: 'total_minor', type: 'bigint', nullable: true, transformer: bigintToNumber })
  totalMinor!: number | null;
  @Column({ type: 'char', length: 3, nullable: true }) currency!: string | null;
  @Column({ name: 'refunded_minor', type: 'bigint', transformer: bigintToNumber }) refundedMinor!: number;
  @Column({ name: 'checkout_url', type: 'text', nullable: true }) checkoutUrl!: string | null;
  @Column({ name: 'checkout_expires_at', type: 'timestamptz', nullable: true })
  checkoutExpiresAt!: Date | null;
  @Column({ type: 'jsonb', nullable: true }) decline!: Decline | null;
  @Column({ name: 'retry_scheduled', type: 'boolean' }) retryScheduled!: boolean;
  @Column({ type: 'jsonb' }) adjustments!: PurchaseAdjustment[];
  @Column({ name: 'last_error', type: 'text', nullable: true }) lastError!: string | null;
  /** the caller-scoped Idempotency-Key it was asked for under: a retry with that key resumes this purchase */
  @Column({ name: 'request_scope', type: 'text', nullable: true }) requestScope!: string | null;
  @Column({ name: 'request_key', type: 'text', nullable: true }) requestKey!: string | null;
  /** when its unknown outcome (`processing` after a crash, `unknown`) is next looked up; backed off */
  @Column({ name: 'next_check_at', type: 'timestamptz', default: () => 'now()' }) nextCheckAt!: Date;
  @Column({ name: 'check_attempts', type: 'int', default: 0 }) checkAttempts!: number;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
