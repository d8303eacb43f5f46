import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { bigintToNumber } from '../common/database/column-transformers';
import { TransitionTable } from '../common/state-machine';
import type { Decline } from '../gateways/decline-codes';
import type { GatewayId } from '../gateways/gateway-ids';

/**
 * - pending: waiting for the gateway's subscription id (Cleverbridge PaidOrderNotification of the first purchase)
 * - active: rebilled on schedule
 * - past_due: the current period was declined (soft) and is in dunning
 * - action_required: hard decline; the customer must act (checkout URL when the gateway gave one)
 * - suspended: the gateway refused our request as invalid; an operator must look
 * - cancelled: no further rebills (on request, or after the last dunning retry)
 */
export type SubscriptionStatus =
  'pending' | 'active' | 'past_due' | 'action_required' | 'suspended' | 'cancelled';

export const SUBSCRIPTION_TRANSITIONS: TransitionTable<SubscriptionStatus> = {
  pending: ['active', 'cancelled'],
  active: ['past_due', 'action_required', 'suspended', 'cancelled'],
  past_due: ['active', 'action_required', 'suspended', 'cancelled'],
  // a late payment through the checkout URL (or the gateway's own retry) settles the period
  action_required: ['active', 'cancelled'],
  suspended: ['active', 'cancelled'],
  cancelled: [],
};

@Entity('connector_subscriptions')
export class ConnectorSubscriptionEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'customer_id', type: 'text' }) customerId!: string;
  @Column({ type: 'text' }) gateway!: GatewayId;
  @Column({ name: 'external_subscription_id', type: 'text', nullable: true })
  externalSubscriptionId!: string | null;
  @Column({ name: 'cleeng_subscription_id', type: 'text', nullable: true }) cleengSubscriptionId!:
    string | null;
  /**
   * The gateway payment whose externally managed report makes Cleeng create the subscription (null: none
   * reported yet). Later reports name `cleengSubscriptionId`, resolved when sent.
   */
  @Column({ name: 'cleeng_link_payment_id', type: 'text', nullable: true }) cleengLinkPaymentId!:
    string | null;
  @Column({ name: 'offer_id', type: 'text', nullable: true }) offerId!: string | null;
  @Column({ name: 'product_id', type: 'text', nullable: true }) productId!: string | null;
  @Column({ type: 'integer' }) quantity!: number;
  /** ISO 639-1; null = the gateway's default (Cleverbridge: CLEVERBRIDGE_DEFAULT_LANGUAGE_ID) */
  @Column({ name: 'default_language_id', type: 'text', nullable: true }) defaultLanguageId!: string | null;
  @Column({ name: 'amount_minor', type: 'bigint', transformer: bigintToNumber }) amountMinor!: number;
  @Column({ type: 'char', length: 3 }) currency!: string;
  /** ISO 8601 duration, e.g. P1M */
  @Column({ name: 'billing_interval', type: 'text' }) billingInterval!: string;
  /** start of period 0; period n starts at anchor + n × interval */
  @Column({ name: 'billing_anchor', type: 'timestamptz' }) billingAnchor!: Date;
  /** the period to charge next */
  @Column({ name: 'period_index', type: 'integer' }) periodIndex!: number;
  /** start of that period */
  @Column({ name: 'next_billing_at', type: 'timestamptz' }) nextBillingAt!: Date;
  /** when the rebiller next looks at this row (null: nothing to do) */
  @Column({ name: 'next_attempt_at', type: 'timestamptz', nullable: true }) nextAttemptAt!: Date | null;
  @Column({ type: 'text' }) status!: SubscriptionStatus;
  @Column({ name: 'x_parameters', type: 'jsonb' }) xParameters!: Record<string, string>;
  /** the stored token to rebill (card gateways): the payment details that hold it sealed */
  @Column({ name: 'payment_details_id', type: 'uuid', nullable: true }) paymentDetailsId!: string | null;
  /** soft declines of the current period so far */
  @Column({ name: 'dunning_step', type: 'integer' }) dunningStep!: number;
  @Column({ name: 'dunning_started_at', type: 'timestamptz', nullable: true }) dunningStartedAt!: Date | null;
  @Column({ name: 'last_decline', type: 'jsonb', nullable: true }) lastDecline!: Decline | null;
  @Column({ name: 'checkout_url', type: 'text', nullable: true }) checkoutUrl!: string | null;
  @Column({ name: 'checkout_expires_at', type: 'timestamptz', nullable: true })
  checkoutExpiresAt!: Date | null;
  @Column({ name: 'last_error', type: 'text', nullable: true }) lastError!: string | null;
  @Column({ name: 'lease_owner', type: 'text', nullable: true }) leaseOwner!: string | null;
  @Column({ name: 'lease_until', type: 'timestamptz', nullable: true }) leaseUntil!: Date | null;
  @Column({ name: 'cancel_reason', type: 'text', nullable: true }) cancelReason!: string | null;
  @Column({ name: 'cancelled_at', type: 'timestamptz', nullable: true }) cancelledAt!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
