import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** pending -> done | ignored | failed (after the last attempt); an operator may requeue failed. */
export type InboxStatus = 'pending' | 'done' | 'ignored' | 'failed';

/** `cleeng` or a gateway id */
export type InboxSource = string;

@Entity('inbox_events')
export class InboxEventEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'text' }) source!: InboxSource;
  /** the gateway processing calls ('' for none): the worker claims each lane on its own */
  @Column({ type: 'text' }) lane!: string;
  @Column({ name: 'event_key', type: 'text' }) eventKey!: string;
  @Column({ name: 'event_type', type: 'text' }) eventType!: string;
  @Column({ type: 'jsonb' }) payload!: Record<string, unknown>;
  @Column({ type: 'text' }) status!: InboxStatus;
  @Column({ type: 'integer' }) attempts!: number;
  @Column({ name: 'next_attempt_at', type: 'timestamptz' }) nextAttemptAt!: Date;
  @Column({ name: 'locked_until', type: 'timestamptz', nullable: true }) lockedUntil!: Date | null;
  /** the claim that holds the lease; fences the heartbeat and the outcome write */
  @Column({ name: 'lease_token', type: 'uuid', nullable: true }) leaseToken!: string | null;
  @Column({ name: 'last_error', type: 'text', nullable: true }) lastError!: string | null;
  @Column({ name: 'received_at', type: 'timestamptz' }) receivedAt!: Date;
  @Column({ name: 'processed_at', type: 'timestamptz', nullable: true }) processedAt!: Date | null;
}
