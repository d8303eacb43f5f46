import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { bigintToNumber } from '../common/database/column-transformers';
import { TransitionTable } from '../common/state-machine';
import type { Decline } from '../gateways/decline-codes';
import type { GatewayId } from '../gateways/gateway-ids';

/**
 * One row per (subscription, period), whatever happens. In-flight states repeat the SAME idempotency key:
 * - charging: a call under the current key is running, died with its process, or failed technically
 * - unknown: the call got no answer (timeout); the gateway may have charged
 * - pending: accepted, money not there yet (offline payment)
 * Waiting states:
 * - retry_scheduled: declined, the gateway retries by itself (Cleverbridge IsPaymentRetryScheduled)
 * - declined: declined (soft); our dunning tries again later with the next try number (a new key)
 * - action_required: declined (hard) with a URL for the customer
 * Final: captured (then refunds / chargeback) or failed (no charge for this period).
 */
export type RebillAttemptStatus =
  | 'charging'
  | 'unknown'
  | 'pending'
  | 'retry_scheduled'
  | 'declined'
  | 'action_required'
  | 'captured'
  | 'partially_refunded'
  | 'refunded'
  | 'charged_back'
  | 'failed';

export const REBILL_ATTEMPT_TRANSITIONS: TransitionTable<RebillAttemptStatus> = {
  charging: [
    'charging',
    'unknown',
    'pending',
    'retry_scheduled',
    'declined',
    'action_required',
    'captured',
    'failed',
  ],
  // unknown / pending: `charging` only where the gateway deduplicates a repeat; without an idempotency key
  // (Cleverbridge) the lookup's answer moves it on, or it waits again
  unknown: [
    'charging',
    'unknown',
    'pending',
    'retry_scheduled',
    'declined',
    'action_required',
    'captured',
    'failed',
  ],
  pending: ['charging', 'pending', 'retry_scheduled', 'declined', 'action_required', 'captured', 'failed'],
  retry_scheduled: ['captured', 'declined', 'action_required', 'failed'],
  declined: ['charging', 'captured', 'failed'],
  action_required: ['captured', 'failed'],
  captured: ['partially_refunded', 'refunded', 'charged_back'],
  partially_refunded: ['partially_refunded', 'refunded', 'charged_back'],
  refunded: [],
  charged_back: [],
  // a payment through the checkout URL after we gave up is still money taken for the period
  failed: ['captured'],
};

/** States in which the current key may still be (re)sent: a replay must reuse it. */
export const IN_FLIGHT_ATTEMPT_STATUSES: readonly RebillAttemptStatus[] = ['charging', 'unknown', 'pending'];
export const CAPTURED_ATTEMPT_STATUSES: readonly RebillAttemptStatus[] = [
  'captured',
  'partially_refunded',
  'refunded',
  'charged_back',
];

/** One gateway call (try) of an attempt and how it ended. */
export interface RebillTry {
  try: number;
  key: string;
  at: string;
  outcome: string;
  externalPaymentId?: string;
  decline?: { code: string; rawCode?: string };
  error?: string;
}

/** A refund, chargeback or duplicate payment recorded against the attempt (deduplicated by id). */
export interface RebillAdjustment {
  type: 'refund' | 'chargeback' | 'duplicate_payment';
  id: string;
  amountMinor: number;
  at: string;
}

@Entity('rebill_attempts')
export class RebillAttemptEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ name: 'subscription_id', type: 'uuid' }) subscriptionId!: string;
  @Column({ name: 'period_index', type: 'integer' }) periodIndex!: number;
  @Column({ name: 'period_start', type: 'timestamptz' }) periodStart!: Date;
  @Column({ name: 'period_end', type: 'timestamptz' }) periodEnd!: Date;
  @Column({ type: 'text' }) gateway!: GatewayId;
  @Column({ name: 'amount_minor', type: 'bigint', transformer: bigintToNumber }) amountMinor!: number;
  @Column({ type: 'char', length: 3 }) currency!: string;
  @Column({ type: 'text' }) status!: RebillAttemptStatus;
  @Column({ name: 'try_number', type: 'integer' }) tryNumber!: number;
  /** `<attempt id>:<try>`; changes only after a definitive decline */
  @Column({ name: 'idempotency_key', type: 'text' }) idempotencyKey!: string;
  @Column({ name: 'external_payment_id', type: 'text', nullable: true }) externalPaymentId!: string | null;
  @Column({ type: 'jsonb', nullable: true }) decline!: Decline | null;
  @Column({ name: 'retry_scheduled', type: 'boolean' }) retryScheduled!: boolean;
  @Column({ name: 'technical_failures', type: 'integer' }) technicalFailures!: number;
  @Column({ type: 'jsonb' }) tries!: RebillTry[];
  @Column({ name: 'refunded_minor', type: 'bigint', transformer: bigintToNumber }) refundedMinor!: number;
  @Column({ type: 'jsonb' }) adjustments!: RebillAdjustment[];
  @Column({ name: 'last_error', type: 'text', nullable: true }) lastError!: string | null;
  @Column({ name: 'captured_at', type: 'timestamptz', nullable: true }) capturedAt!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

export function attemptKey(attemptId: string, tryNumber: number): string {
  return `${attemptId}:${tryNumber}`;
}
