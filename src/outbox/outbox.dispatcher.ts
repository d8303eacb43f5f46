import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityMetadata } from 'typeorm';
import { CleengClient, CleengUnavailableError } from '../cleeng/cleeng.client';
import { Clock } from '../common/clock/clock';
import { backoffDelay, PollingWorker } from '../common/polling-worker';
import { claimLeased, LeaseClaim } from '../common/database/lease-claim';
import { returnedRows } from '../common/database/query-result';
import { rowToEntity } from '../common/database/row-lock';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { OutboxMessageEntity } from './outbox-message.entity';
import { OutboxService } from './outbox.service';
import { classifyDeliveryFailure } from './delivery-failure';

const LEASE_MS = 60_000;
const BATCH = 20;

interface OutboxRow {
  id: string;
  kind: string;
  aggregate_id: string;
  dedupe_key: string;
  payload: OutboxMessageEntity['payload'];
  sealed_secret: string | null;
  attempts: number;
}

/**
 * The due messages in id order, leased for LEASE_MS. The earliest undelivered message of each aggregate only gates
 * the rest: a later message is claimable once every earlier one of its aggregate is delivered or claimed in this
 * same batch. The candidates are read in id order through the pending index, so a claim stops after BATCH even
 * with a backlog; `OFFSET 0` keeps the gate a per-candidate index probe (as a join, the planner may scan every
 * undelivered message once per candidate: a 20,000-message backlog took over 20 s a claim).
 */
export function outboxClaim(now: Date, limit = BATCH): LeaseClaim {
  return {
    table: 'outbox_messages',
    where: `candidate.status = 'pending' AND candidate.next_attempt_at <= $1
      AND (candidate.locked_until IS NULL OR candidate.locked_until < $1)
      AND NOT EXISTS (
        SELECT 1 FROM outbox_messages p
        WHERE p.aggregate_id = candidate.aggregate_id AND p.id < candidate.id AND p.status <> 'delivered'
          AND (p.status = 'dead' OR p.next_attempt_at > $1 OR (p.locked_until IS NOT NULL AND p.locked_until >= $1))
        OFFSET 0)`,
    params: [now],
    orderBy: 'candidate.id',
    limit,
    lease: { locked_until: new Date(now.getTime() + LEASE_MS) },
    returning: 'id, kind, aggregate_id, dedupe_key, payload, sealed_secret, attempts',
  };
}

export interface DispatchSummary {
  delivered: number;
  retried: number;
  dead: number;
}

/**
 * Delivers outbox messages to Cleeng until accepted. Claims rows with SKIP LOCKED and a lease, so
 * several instances can run it; delivers per aggregate in order; backs off exponentially on
 * failure (at least Retry-After); parks only definite validation errors as `dead` for an operator
 * instead of dropping them (401/403/429 are retried and alerted, see classifyDeliveryFailure).
 */
@Injectable()
export class OutboxDispatcher extends PollingWorker<DispatchSummary> {
  protected readonly intervalMs: number;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly outbox: OutboxService,
    private readonly cleeng: CleengClient,
    private readonly clock: Clock,
  ) {
    super();
    this.intervalMs = config.outbox.pollIntervalMs;
  }

  override onApplicationBootstrap(): void {
    this.outbox.onWake(() => this.kick());
    super.onApplicationBootstrap();
  }

  protected async pass(): Promise<DispatchSummary> {
    const summary: DispatchSummary = { delivered: 0, retried: 0, dead: 0 };
    while (!this.stopped) {
      const enqueuedBefore = this.outbox.enqueuedCount();
      const batch = await this.claim();
      if (batch.length === 0) {
        return summary;
      }
      // one aggregate's messages in order; different aggregates in parallel
      const byAggregate = new Map<string, OutboxRow[]>();
      for (const row of batch) {
        byAggregate.set(row.aggregate_id, [...(byAggregate.get(row.aggregate_id) ?? []), row]);
      }
      await Promise.all(
        [...byAggregate.values()].map(async (rows) => {
          for (const [index, row] of rows.entries()) {
            if (this.stopped) {
              // shutting down: not started, so anyone's again at once
              await this.release(rows.slice(index).map((r) => r.id));
              break;
            }
            const outcome = await this.deliver(row);
            summary[outcome] += 1;
            if (outcome !== 'delivered') {
              // later messages of this aggregate wait for this one: release their lease
              await this.release(rows.slice(index + 1).map((r) => r.id));
              break;
            }
          }
        }),
      );
      if (batch.length < BATCH && this.outbox.enqueuedCount() === enqueuedBefore) {
        // nothing else was due at the claim and nothing was written since: no need for a claim that finds
        // nothing (messages enqueued later kick another pass; other instances' ones come with the poll)
        return summary;
      }
    }
    return summary;
  }

  private async claim(): Promise<OutboxRow[]> {
    const rows = await claimLeased<OutboxRow>(this.db, outboxClaim(this.clock.now()));
    return rows.sort((a, b) => Number(a.id) - Number(b.id));
  }

  private messageMetadata(): EntityMetadata {
    return this.db.getMetadata(OutboxMessageEntity);
  }

  private async release(ids: string[]): Promise<void> {
    if (ids.length > 0) {
      await this.db.query(`UPDATE outbox_messages SET locked_until = NULL WHERE id = ANY($1::bigint[])`, [
        ids,
      ]);
    }
  }

  private async deliver(row: OutboxRow): Promise<'delivered' | 'retried' | 'dead'> {
    let body = row.payload.body ? structuredClone(row.payload.body) : undefined;
    if (body && row.payload.secretPath && row.sealed_secret) {
      setPath(body, row.payload.secretPath, this.outbox.revealSecret(row.sealed_secret));
    }
    try {
      const path = await this.outbox.resolvePath(row.payload.path, row.aggregate_id, row.payload.ref);
      if (path === undefined) {
        throw new CleengUnavailableError(`cannot resolve ${row.payload.path} yet`);
      }
      if (body && row.payload.bodyParams) {
        body = await this.outbox.resolveBody(body, row.payload.bodyParams, row.aggregate_id, row.payload.ref);
        if (body === undefined) {
          throw new CleengUnavailableError(
            `cannot resolve ${Object.keys(row.payload.bodyParams).join(', ')} of the body yet`,
          );
        }
      }
      const key = row.payload.method === 'GET' ? undefined : row.dedupe_key;
      const result = await this.cleeng.send(row.payload.method, path, body, key);
      const markDelivered = `UPDATE outbox_messages SET status = 'delivered', delivered_at = $2, attempts = attempts + 1,
             locked_until = NULL, last_error = NULL, failure_reason = NULL, result = $3 WHERE id = $1`;
      const params = [row.id, this.clock.now(), JSON.stringify(redactResult(result))];
      const fused = this.outbox.deliveredWith(row.kind)?.(row.aggregate_id, result, params.length + 1);
      if (fused) {
        // the local consequence in the same statement (one commit), acting only if the message was marked here
        const [marked] = returnedRows<{ n: number }>(
          await this.db.query(
            `WITH delivered AS (${markDelivered}${fused.deliverIf ? ` AND ${fused.deliverIf}` : ''} RETURNING id)${fused.ctes
              .map((cte) => `, ${cte}`)
              .join('')}
             SELECT count(*)::int AS n FROM delivered`,
            [...params, ...fused.params],
          ),
        );
        if (marked?.n) {
          return 'delivered';
        }
        // nothing was written: the handler's transaction decides (it also notices a message that vanished)
      }
      const handler = this.outbox.resultHandler(row.kind);
      if (!handler) {
        await this.db.query(markDelivered, params);
        return 'delivered';
      }
      // the local consequence of Cleeng's answer commits with the delivery, or neither does
      await this.db.transaction(async (manager) => {
        const [delivered] = returnedRows<Record<string, unknown>>(
          await manager.query(`${markDelivered} RETURNING *`, params),
        );
        if (!delivered) {
          throw new Error(`outbox message ${row.id} vanished while being delivered`);
        }
        await handler(manager, rowToEntity<OutboxMessageEntity>(this.messageMetadata(), delivered), result);
      });
      return 'delivered';
    } catch (err) {
      return this.recordFailure(row, err);
    }
  }

  /** Dead only for a definite validation error; everything else waits for another attempt (see classifyDeliveryFailure). */
  private async recordFailure(row: OutboxRow, err: unknown): Promise<'retried' | 'dead'> {
    const attempts = row.attempts + 1;
    const failure = classifyDeliveryFailure(err);
    if (failure.outcome === 'dead') {
      this.logger.error(
        `outbox ${row.id} (${row.kind}) refused by Cleeng, parked as dead: ${failure.message}`,
      );
      await this.db.query(
        `UPDATE outbox_messages SET status = 'dead', attempts = $2, last_error = $3, locked_until = NULL,
           failure_reason = NULL WHERE id = $1`,
        [row.id, attempts, failure.message],
      );
      return 'dead';
    }
    const backoff = backoffDelay(attempts, this.config.outbox.backoffBaseMs, this.config.outbox.backoffMaxMs);
    const delay = Math.max(backoff, failure.retryAfterMs ?? 0);
    const note = `outbox ${row.id} (${row.kind}) attempt ${attempts} failed (${failure.reason}), retry in ${delay} ms: ${failure.message}`;
    if (failure.reason === 'auth' || failure.reason === 'unexpected') {
      this.logger.error(note); // needs an operator: alerted by connector_outbox_retrying
    } else {
      this.logger.warn(note);
    }
    await this.db.query(
      `UPDATE outbox_messages SET attempts = $2, last_error = $3, next_attempt_at = $4, locked_until = NULL,
         failure_reason = $5 WHERE id = $1`,
      [row.id, attempts, failure.message, new Date(this.clock.now().getTime() + delay), failure.reason],
    );
    return 'retried';
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node: Record<string, unknown> = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) {
      node[key] = {};
    }
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] ?? ''] = value;
}

/** Cleeng echoes payment-details tokens back; never keep them in plain text. */
function redactResult(result: unknown): unknown {
  return JSON.parse(
    JSON.stringify(result ?? null, (key, value: unknown) => (key === 'token' ? '[redacted]' : value)),
  ) as unknown;
}
