import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { claimLeased, LeaseClaim } from '../common/database/lease-claim';
import { returnedRows } from '../common/database/query-result';
import { rowToEntity } from '../common/database/row-lock';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { ConnectorSubscriptionEntity } from '../subscriptions/subscription.entity';
import { ROW_VERSION } from './rebill-row-sql';

export interface PassClock {
  /** the time the pass was asked to run for: what is due */
  due: Date;
  /** that time moved on by the real time elapsed since: leases and new schedules */
  now(): Date;
}

export interface Claimed {
  subscription: ConnectorSubscriptionEntity;
  /** the row version (`xmin`) as claimed: a write conditional on it applies only to the row as read here */
  version: string;
  claimedAtMs: number;
}

export const later = (at: Date, ms: number): Date => new Date(at.getTime() + ms);

/** Due subscriptions, earliest first, leased to `owner` until `until`; returned whole with their row version. */
export function rebillClaim(claim: {
  due: Date;
  now: Date;
  limit: number;
  owner: string;
  until: Date;
}): LeaseClaim {
  return {
    table: 'connector_subscriptions',
    where:
      'candidate.next_attempt_at <= $1 AND (candidate.lease_until IS NULL OR candidate.lease_until < $2)',
    params: [claim.due, claim.now],
    orderBy: 'candidate.next_attempt_at',
    limit: claim.limit,
    lease: { lease_owner: claim.owner, lease_until: claim.until },
    returning: `*, xmin::text AS ${ROW_VERSION}`,
  };
}

/**
 * The lease on due subscriptions: claim (SKIP LOCKED + a lease owned by this instance, so instances sharing a
 * database never take the same row), renew, release. Every write is conditional on still owning the lease.
 */
@Injectable()
export class RebillClaims {
  /** lease owner id of this process */
  readonly instanceId = randomUUID();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * One batch of due rows, leased to this instance until we release it or REBILL_LEASE runs out (a crashed
   * instance's rows come back then).
   */
  async claim(clock: PassClock, limit = this.config.rebill.batchSize): Promise<Claimed[]> {
    const now = clock.now();
    // the claimed rows come back whole (RETURNING *) with their version: no second read, no ORM hydration per row
    const rows = await claimLeased<Record<string, unknown>>(
      this.db,
      rebillClaim({
        due: clock.due,
        now,
        limit,
        owner: this.instanceId,
        until: later(now, this.config.rebill.leaseMs),
      }),
    );
    if (rows.length === 0) {
      return [];
    }
    const claimedAtMs = performance.now();
    const metadata = this.db.getMetadata(ConnectorSubscriptionEntity);
    return rows
      .map((row) => ({
        subscription: rowToEntity<ConnectorSubscriptionEntity>(metadata, row),
        version: String(row[ROW_VERSION]),
        claimedAtMs,
      }))
      .sort(
        (a, b) =>
          (a.subscription.nextAttemptAt?.getTime() ?? 0) - (b.subscription.nextAttemptAt?.getTime() ?? 0),
      );
  }

  /** Half the lease gone before we got to the row: extend it, unless it already ran out (then it may be another's). */
  async keep(claimed: Claimed, clock: PassClock): Promise<boolean> {
    if (performance.now() - claimed.claimedAtMs <= this.config.rebill.leaseMs / 2) {
      return true;
    }
    const now = clock.now();
    const rows = returnedRows(
      await this.db.query(
        `UPDATE connector_subscriptions SET lease_until = $3 WHERE id = $1 AND lease_owner = $2 AND lease_until >= $4 RETURNING id`,
        [claimed.subscription.id, this.instanceId, later(now, this.config.rebill.leaseMs), now],
      ),
    );
    return rows.length > 0;
  }

  /** Clears our lease and sets the next look (`onlyLater`: never earlier than it is) without touching anything else. */
  async release(id: string, changes: { nextAttemptAt: Date | null; onlyLater?: boolean }): Promise<void> {
    await this.db.query(
      `UPDATE connector_subscriptions
       SET next_attempt_at = CASE WHEN NOT $4 THEN $2
                                  WHEN next_attempt_at IS NULL THEN NULL
                                  ELSE GREATEST(next_attempt_at, $2) END,
           lease_owner = NULL, lease_until = NULL
       WHERE id = $1 AND lease_owner = $3`,
      [id, changes.nextAttemptAt, this.instanceId, changes.onlyLater === true],
    );
  }

  /**
   * Claimed but never started (shutdown): drop our lease, change nothing else, so any instance takes them now.
   * `unsentAttemptIds`: attempts this pass made for them (with the batch) and never handed to a call, so their
   * key was never sent: removed with the lease, as if never made, while the subscription is still ours (locked
   * here; another instance's claim skips it) and the attempt untouched since.
   */
  async releaseUnstarted(ids: readonly string[], unsentAttemptIds: readonly string[] = []): Promise<void> {
    if (ids.length > 0) {
      await this.db.query(
        `WITH ours AS (
           SELECT id FROM connector_subscriptions WHERE id = ANY($1::uuid[]) AND lease_owner = $2 FOR UPDATE),
         unsent AS (
           DELETE FROM rebill_attempts
            WHERE id = ANY($3::uuid[]) AND subscription_id IN (SELECT id FROM ours)
              AND status = 'charging' AND try_number = 1 AND tries = '[]'::jsonb)
         UPDATE connector_subscriptions SET lease_owner = NULL, lease_until = NULL
          WHERE id IN (SELECT id FROM ours)`,
        [ids, this.instanceId, unsentAttemptIds],
      );
    }
  }

  /** After an unexpected error: look again at `retryAt`, keeping the error for operators. */
  async releaseAfterError(id: string, retryAt: Date, message: string): Promise<void> {
    await this.db.query(
      `UPDATE connector_subscriptions SET next_attempt_at = $2, last_error = $3, lease_owner = NULL, lease_until = NULL
       WHERE id = $1 AND lease_owner = $4`,
      [id, retryAt, message.slice(0, 500), this.instanceId],
    );
  }

  /** Inside a transaction that holds the subscription's lock: drop our lease, change nothing else. */
  async releaseLocked(manager: EntityManager, sub: ConnectorSubscriptionEntity): Promise<void> {
    if (sub.leaseOwner === this.instanceId) {
      await manager.query(
        `UPDATE connector_subscriptions SET lease_owner = NULL, lease_until = NULL, updated_at = now() WHERE id = $1`,
        [sub.id],
      );
      sub.leaseOwner = null;
      sub.leaseUntil = null;
    }
  }
}
