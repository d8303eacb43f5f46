import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { bigintToNumber } from '../common/database/column-transformers';
import { TransitionTable } from '../common/state-machine';
import type { Decline } from '../gateways/decline-codes';
import type { GatewayAction } from '../gateways/gateway.provider';
import type { GatewayId } from '../gateways/gateway-ids';
import type { PaymentOperation } from '../orders/order.entity';

/**
 * `unknown`: a gateway call got no answer; the outcome is resolved by asking again under the same
 * idempotency key, never by assuming a decline.
 */
export type PaymentStatus =
  | 'pending'
  | 'unknown'
  | 'action_required'
  | 'authorised'
  | 'captured'
  | 'partially_refunded'
  | 'refunded'
  | 'rejected'
  | 'cancelled';

export const PAYMENT_TRANSITIONS: TransitionTable<PaymentStatus> = {
  pending: ['unknown', 'action_required', 'authorised', 'captured', 'rejected'],
  unknown: ['unknown', 'action_required', 'authorised', 'captured', 'rejected', 'cancelled'],
  action_required: ['pending', 'unknown', 'authorised', 'captured', 'rejected'],
  authorised: ['unknown', 'captured', 'cancelled', 'rejected'],
  // captured -> rejected only as a PAYMENT_CORRECTIONS['capture-failed'], never as an ordinary decline
  captured: ['partially_refunded', 'refunded'],
  // back to captured / partially_refunded when a refund fails after it had succeeded
  partially_refunded: ['partially_refunded', 'refunded', 'captured'],
  refunded: ['partially_refunded', 'captured'],
  rejected: [],
  cancelled: [],
};

/**
 * After-the-fact corrections by the gateway, each allowed only when the caller names its reason: a
 * stale decision (a timeout, a lost 3DS answer) can then never undo money the gateway took.
 */
export type PaymentCorrection = 'capture-failed';
export const PAYMENT_CORRECTIONS: Record<PaymentCorrection, Partial<TransitionTable<PaymentStatus>>> = {
  // Adyen CAPTURE_FAILED after we reported `captured`
  'capture-failed': { captured: ['rejected'] },
};

/** Which gateway operation a payment in `unknown` is waiting on. */
export type PendingOperation = 'authorise' | 'charge' | 'tokenise' | 'complete' | 'capture' | 'cancel';

/**
 * initial: customer-initiated purchase, authorise then capture (or charge);
 * recurring-authorise: Cleeng authorise-first renewal, authorise only (captured on Cleeng's request);
 * recurring-charge: Cleeng capture-only renewal, one-step charge.
 */
export type PaymentFlow = 'initial' | 'recurring-authorise' | 'recurring-charge';

export interface PaymentGatewayState {
  flow?: PaymentFlow;
  pendingOperation?: PendingOperation;
  /** recurring payments: Cleeng's subscription and payment-details ids for the report */
  cleengSubscriptionId?: string;
  cleengPaymentDetailsId?: string;
  /** the authorisation's id when capture has its own id */
  authorisationId?: string;
  captureId?: string;
  returnUrl?: string;
  /** opaque data a gateway asked us to keep for completeAction */
  actionState?: Record<string, unknown>;
  lastError?: string;
}

@Entity('payments')
export class PaymentEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'order_id', type: 'uuid' }) orderId!: string;
  @Column({ name: 'customer_id', type: 'text' }) customerId!: string;
  @Column({ type: 'text' }) gateway!: GatewayId;
  @Column({ type: 'text' }) operation!: PaymentOperation;
  @Column({ name: 'amount_minor', type: 'bigint', transformer: bigintToNumber }) amountMinor!: number;
  @Column({ type: 'char', length: 3 }) currency!: string;
  @Column({ type: 'text' }) status!: PaymentStatus;
  @Column({ name: 'external_payment_id', type: 'text', nullable: true }) externalPaymentId!: string | null;
  @Column({ name: 'captured_minor', type: 'bigint', transformer: bigintToNumber }) capturedMinor!: number;
  @Column({ name: 'refunded_minor', type: 'bigint', transformer: bigintToNumber }) refundedMinor!: number;
  @Column({ type: 'jsonb', nullable: true }) decline!: Decline | null;
  @Column({ type: 'jsonb', nullable: true }) action!: GatewayAction | null;
  @Column({ name: 'gateway_state', type: 'jsonb', nullable: true }) gatewayState!: PaymentGatewayState | null;
  @Column({ name: 'payment_details_id', type: 'uuid', nullable: true }) paymentDetailsId!: string | null;
  @Column({ name: 'cleeng_payment_id', type: 'text', nullable: true }) cleengPaymentId!: string | null;
  /** when the reconciler next looks at this row while it is open (ordered by it, backed off by check_attempts) */
  @Column({ name: 'next_check_at', type: 'timestamptz', default: () => 'now()' }) nextCheckAt!: Date;
  @Column({ name: 'check_attempts', type: 'int', default: 0 }) checkAttempts!: number;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
