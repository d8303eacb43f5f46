import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type OutboxStatus = 'pending' | 'delivered' | 'dead';

export interface OutboxHttpPayload {
  /** GET: a read whose answer a result handler applies (e.g. finding the subscription Cleeng created) */
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** path under CLEENG_API_URL, e.g. `/payments` */
  path: string;
  body?: Record<string, unknown>;
  /**
   * Body fields filled when sent, like path placeholders: `{field: paramName}` (e.g. a subscription id Cleeng
   * gives in answer to an earlier message of the same aggregate). Numeric ids are sent as numbers.
   */
  bodyParams?: Record<string, string>;
  /** what the message is about besides its aggregate (e.g. a gateway payment id), for param resolvers */
  ref?: string;
  /** where the sealed secret goes in the body, e.g. `paymentDetails.token` */
  secretPath?: string;
}

@Entity('outbox_messages')
export class OutboxMessageEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column({ type: 'text' }) kind!: string;
  @Column({ name: 'aggregate_id', type: 'text' }) aggregateId!: string;
  @Column({ name: 'dedupe_key', type: 'text' }) dedupeKey!: string;
  @Column({ type: 'jsonb' }) payload!: OutboxHttpPayload;
  @Column({ name: 'sealed_secret', type: 'text', nullable: true }) sealedSecret!: string | null;
  @Column({ type: 'text' }) status!: OutboxStatus;
  @Column({ type: 'integer' }) attempts!: number;
  @Column({ name: 'next_attempt_at', type: 'timestamptz' }) nextAttemptAt!: Date;
  @Column({ name: 'locked_until', type: 'timestamptz', nullable: true }) lockedUntil!: Date | null;
  @Column({ name: 'last_error', type: 'text', nullable: true }) lastError!: string | null;
  /** why a pending message waits for another attempt (RetryReason); null once delivered or dead */
  @Column({ name: 'failure_reason', type: 'text', nullable: true }) failureReason!: string | null;
  @Column({ type: 'jsonb', nullable: true }) result!: unknown;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true }) deliveredAt!: Date | null;
}
