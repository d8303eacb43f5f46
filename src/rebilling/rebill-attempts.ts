import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { returnedRows } from '../common/database/query-result';
import { lockById, rowToEntity } from '../common/database/row-lock';
import { parseInterval, periodStart } from '../subscriptions/billing-interval';
import { ConnectorSubscriptionEntity } from '../subscriptions/subscription.entity';
import { attemptTransition } from '../subscriptions/subscriptions.service';
import { ROW_VERSION, setClause } from './rebill-row-sql';
import { attemptKey, RebillAttemptEntity, RebillAttemptStatus } from './rebill-attempt.entity';

/** The period's attempt and whether this call made it (then its key was never sent). */
export interface PeriodAttempt {
  attempt: RebillAttemptEntity;
  created: boolean;
  /** the row version (`xmin`) as read with it, when known */
  version?: string;
}

/** Charged on its schedule (a cancelled subscription only finishes an attempt already made). */
export const isBillable = (sub: ConnectorSubscriptionEntity): boolean =>
  sub.status === 'active' || sub.status === 'past_due';

export type AttemptChanges = Partial<Omit<RebillAttemptEntity, 'id' | 'createdAt' | 'updatedAt'>>;

/**
 * Rebill attempt rows: one per (subscription, period), written BEFORE the gateway call with the key the call
 * uses, so a crash after the call finds it `charging` and the replay repeats the same key.
 */
@Injectable()
export class RebillAttempts {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * The period's attempt: inserted on first sight (`created`: its key was never sent), or the existing one (and
   * its key) on conflict.
   */
  async ensure(sub: ConnectorSubscriptionEntity, now: Date): Promise<PeriodAttempt> {
    const id = randomUUID();
    const inserted = returnedRows<Record<string, unknown>>(
      await this.db.query(
        `INSERT INTO rebill_attempts (id, subscription_id, period_index, period_start, period_end, gateway, amount_minor,
           currency, status, try_number, idempotency_key, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'charging', 1, $9, $10, $10)
         ON CONFLICT (subscription_id, period_start) DO NOTHING RETURNING *`,
        [
          id,
          sub.id,
          sub.periodIndex,
          sub.nextBillingAt,
          periodStart(sub.billingAnchor, parseInterval(sub.billingInterval), sub.periodIndex + 1),
          sub.gateway,
          sub.amountMinor,
          sub.currency,
          attemptKey(id, 1),
          now,
        ],
      ),
    );
    const row = inserted[0];
    if (row) {
      return {
        attempt: rowToEntity<RebillAttemptEntity>(this.db.getMetadata(RebillAttemptEntity), row),
        created: true,
      };
    }
    const existing = await this.db
      .getRepository(RebillAttemptEntity)
      .findOneByOrFail({ subscriptionId: sub.id, periodStart: sub.nextBillingAt });
    return { attempt: existing, created: false };
  }

  /**
   * `ensure` for a claimed batch in one statement: every billable subscription's attempt for its current period is
   * inserted (state `charging`, try 1, committed before any call), and the attempts that already existed for the
   * batch's periods come back with `created: false`. A subscription missing from the map has no attempt for its
   * period, or is neither billable nor cancelled (then `process` reads nothing), or raced another insert of
   * the same period (then `ensure` settles it).
   */
  async ensureBatch(
    subs: readonly ConnectorSubscriptionEntity[],
    now: Date,
  ): Promise<Map<string, PeriodAttempt>> {
    const found = new Map<string, PeriodAttempt>();
    if (subs.length === 0) {
      return found;
    }
    const billable = subs.filter(isBillable);
    // as `process` reads them: a cancelled subscription only finishes an attempt already made; the others
    // (waiting for the customer or an operator) are not looked at
    const looked = subs.filter((sub) => isBillable(sub) || sub.status === 'cancelled');
    const ids = billable.map(() => randomUUID());
    const rows = returnedRows<Record<string, unknown>>(
      await this.db.query(
        `WITH inserted AS (
           INSERT INTO rebill_attempts (id, subscription_id, period_index, period_start, period_end, gateway,
             amount_minor, currency, status, try_number, idempotency_key, created_at, updated_at)
           SELECT n.id, n.subscription_id, n.period_index, n.period_start, n.period_end, n.gateway, n.amount_minor,
                  n.currency, 'charging', 1, n.id::text || ':1', $10, $10
             FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::timestamptz[], $5::timestamptz[], $6::text[],
                         $7::bigint[], $8::text[])
                  AS n(id, subscription_id, period_index, period_start, period_end, gateway, amount_minor, currency)
           ON CONFLICT (subscription_id, period_start) DO NOTHING
           RETURNING *, xmin::text AS ${ROW_VERSION})
         SELECT true AS created, inserted.* FROM inserted
         UNION ALL
         SELECT false AS created, a.*, a.xmin::text FROM rebill_attempts a
           JOIN unnest($9::uuid[], $11::timestamptz[]) AS b(subscription_id, period_start)
             ON a.subscription_id = b.subscription_id AND a.period_start = b.period_start`,
        [
          ids,
          billable.map((sub) => sub.id),
          billable.map((sub) => sub.periodIndex),
          billable.map((sub) => sub.nextBillingAt),
          billable.map((sub) =>
            periodStart(sub.billingAnchor, parseInterval(sub.billingInterval), sub.periodIndex + 1),
          ),
          billable.map((sub) => sub.gateway),
          billable.map((sub) => sub.amountMinor),
          billable.map((sub) => sub.currency),
          looked.map((sub) => sub.id),
          now,
          looked.map((sub) => sub.nextBillingAt),
        ],
      ),
    );
    const metadata = this.db.getMetadata(RebillAttemptEntity);
    for (const { created, ...row } of rows) {
      const attempt = rowToEntity<RebillAttemptEntity>(metadata, row);
      found.set(attempt.subscriptionId, {
        attempt,
        created: created === true,
        version: String(row[ROW_VERSION]),
      });
    }
    return found;
  }

  /** The attempt for the subscription's current period, if one was made. */
  current(sub: ConnectorSubscriptionEntity): Promise<RebillAttemptEntity | null> {
    return this.db
      .getRepository(RebillAttemptEntity)
      .findOneBy({ subscriptionId: sub.id, periodStart: sub.nextBillingAt });
  }

  /**
   * Puts the attempt in `charging` under try `tryNumber` before the call (committed: a crash finds it so).
   * Undefined when the row moved on since we read it.
   */
  async markCharging(
    attempt: RebillAttemptEntity,
    tryNumber: number,
  ): Promise<RebillAttemptEntity | undefined> {
    if (attempt.status === 'charging' && attempt.tryNumber === tryNumber) {
      return attempt;
    }
    const newTry = tryNumber !== attempt.tryNumber;
    const changes: AttemptChanges = {
      status: attemptTransition(attempt.status, 'charging'),
      tryNumber,
      idempotencyKey: attemptKey(attempt.id, tryNumber),
      ...(newTry ? { technicalFailures: 0, retryScheduled: false } : {}),
    };
    const rows = returnedRows(
      await this.db.query(
        `UPDATE rebill_attempts SET status = $3, try_number = $4, idempotency_key = $5,
           technical_failures = CASE WHEN $6 THEN 0 ELSE technical_failures END,
           retry_scheduled = CASE WHEN $6 THEN false ELSE retry_scheduled END, updated_at = now()
         WHERE id = $1 AND status = $2 AND try_number = $7 RETURNING id`,
        [
          attempt.id,
          attempt.status,
          changes.status,
          tryNumber,
          changes.idempotencyKey,
          newTry,
          attempt.tryNumber,
        ],
      ),
    );
    if (rows.length === 0) {
      return undefined;
    }
    return Object.assign(new RebillAttemptEntity(), attempt, changes);
  }

  lock(manager: EntityManager, id: string): Promise<RebillAttemptEntity | null> {
    return lockById(manager, RebillAttemptEntity, id);
  }

  /** A state change through the attempt transition table; the caller holds the row lock. */
  async update(
    manager: EntityManager,
    attempt: RebillAttemptEntity,
    to: RebillAttemptStatus,
    changes: AttemptChanges,
  ): Promise<void> {
    const status = attemptTransition(attempt.status, to);
    const params: unknown[] = [attempt.id];
    const set = setClause(this.db.getMetadata(RebillAttemptEntity), { ...changes, status }, params);
    await manager.query(`UPDATE rebill_attempts SET ${set} WHERE id = $1`, params);
    Object.assign(attempt, changes, { status });
  }
}
