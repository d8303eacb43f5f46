import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { GroupCommit } from '../common/database/group-commit';
import { claimLeased, LeaseClaim } from '../common/database/lease-claim';
import { returnedRows } from '../common/database/query-result';
import { plannedOnEveryRun } from '../database/preparing-client';
import { backoffDelay, PollingWorker } from '../common/polling-worker';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { InboxEventEntity } from './inbox-event.entity';
import { RetryLaterError } from '../common/errors/retry-later.error';
import { InboxService } from './inbox.service';
import { PENDING_LANES } from './inbox-lanes';

/** most events one claim statement leases */
const MAX_CLAIM = 100;

/**
 * While a pass runs, every lane is looked at again at least this often (events due again after a retry's backoff, a
 * crashed instance's leases, another instance's events); a wake-up in between names the lanes of the events stored.
 */
const LOOK_IN_EVERY_LANE_MS = 1_000;

const EVENT_COLUMNS = `id, source, lane, event_key, event_type, payload, status, attempts, next_attempt_at,
  locked_until, lease_token, last_error, received_at, processed_at`;

/** How many events a claim takes from each lane: per lane the worker knows, and from any other lane present. */
export interface LaneLimits {
  perLane: ReadonlyMap<string, number>;
  otherLanes: number;
}

/**
 * Each lane's earliest due events, up to its limit, leased under `token` until `leaseUntil` (through the partial
 * due index, which leads with the lane: a loose scan finds the lanes with pending events, one probe each).
 */
export function inboxClaim(now: Date, limits: LaneLimits, leaseUntil: Date, token: string): LeaseClaim {
  return {
    table: 'inbox_events',
    where: `candidate.status = 'pending' AND candidate.next_attempt_at <= $1
      AND (candidate.locked_until IS NULL OR candidate.locked_until < $1)`,
    params: [now],
    orderBy: 'candidate.next_attempt_at',
    limit: limits.otherLanes,
    partition: { ...PENDING_LANES, limits: limits.perLane },
    lease: { locked_until: leaseUntil, lease_token: token },
    returning: EVENT_COLUMNS,
  };
}

interface InboxEventRow {
  id: string;
  source: string;
  lane: string;
  event_key: string;
  event_type: string;
  payload: Record<string, unknown>;
  status: InboxEventEntity['status'];
  attempts: number;
  next_attempt_at: Date;
  locked_until: Date | null;
  lease_token: string | null;
  last_error: string | null;
  received_at: Date;
  processed_at: Date | null;
}

function toEntity(row: InboxEventRow): InboxEventEntity {
  return Object.assign(new InboxEventEntity(), {
    id: row.id,
    source: row.source,
    lane: row.lane,
    eventKey: row.event_key,
    eventType: row.event_type,
    payload: row.payload,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lockedUntil: row.locked_until,
    leaseToken: row.lease_token,
    lastError: row.last_error,
    receivedAt: row.received_at,
    processedAt: row.processed_at,
  });
}

/** A handled event's outcome, written only while the claim's token still leases the row. */
interface HandledOutcome {
  id: string;
  status: 'done' | 'ignored';
  processedAt: Date;
  token: string;
}

/**
 * Outcomes of concurrently handled events in one statement; per event, whether its lease still held. Planned on every
 * run: the inbox only grows, and a join to it must not keep the plan made when it was small.
 */
export const WRITE_INBOX_OUTCOMES =
  plannedOnEveryRun(`UPDATE inbox_events e SET status = o.status, attempts = e.attempts + 1, processed_at = o.processed_at,
    locked_until = NULL, lease_token = NULL, last_error = NULL
  FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::uuid[]) AS o(id, status, processed_at, token)
  WHERE e.id = o.id AND e.lease_token = o.token
  RETURNING e.id`);

/** Renews the leases of held events (id, claim token): the same join, planned on every run. */
const RENEW_LEASES = plannedOnEveryRun(`UPDATE inbox_events e SET locked_until = $3
  FROM unnest($1::uuid[], $2::uuid[]) AS h(id, token)
  WHERE e.id = h.id AND e.lease_token = h.token AND e.status = 'pending'`);

/** Gives held events back unprocessed (id, claim token). */
const RELEASE_LEASES = plannedOnEveryRun(`UPDATE inbox_events e SET locked_until = NULL, lease_token = NULL
  FROM unnest($1::uuid[], $2::uuid[]) AS h(id, token)
  WHERE e.id = h.id AND e.lease_token = h.token AND e.status = 'pending'`);

/** A claimed event and the token of the claim that leases it. */
interface HeldEvent {
  event: InboxEventEntity;
  token: string;
}

export interface InboxPassSummary {
  done: number;
  ignored: number;
  retried: number;
  failed: number;
}

/**
 * Processes stored webhook events: claims due rows (SKIP LOCKED + a heartbeat-renewed, token-fenced
 * lease: safe on several instances), runs the source's handler, retries failures with backoff and
 * parks an event as `failed` (with its last error) after INBOX_MAX_ATTEMPTS for an operator.
 * Up to INBOX_CONCURRENCY events run at once, at most INBOX_GATEWAY_CONCURRENCY of them bound for the same
 * gateway; a freed slot takes the next claimed event at once, and claims refill each lane's local queue before it
 * runs dry (no wait for the poll interval while events are due). Lanes (the gateway an event calls, '' for none)
 * are claimed and queued apart, so a gateway's backlog waits for that gateway's slots without holding back the
 * events of the others.
 */
@Injectable()
export class InboxWorker extends PollingWorker<InboxPassSummary> {
  protected readonly intervalMs: number;
  /**
   * The lanes of the events stored since the pass last looked (a wake-up's): while any is here, claim again even
   * after a claim came back short.
   */
  private readonly wokenLanes = new Set<string>();
  private wakeUp: (() => void) | undefined;
  /** handled events' outcomes, group-committed (one statement for the events that finish together) */
  private readonly outcomes: GroupCommit<HandledOutcome, boolean>;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly inbox: InboxService,
    private readonly clock: Clock,
  ) {
    super();
    this.intervalMs = config.inbox.pollIntervalMs;
    this.outcomes = new GroupCommit(
      async (batch) => {
        const rows = batch.flat();
        const written = new Set(
          returnedRows<{ id: string }>(
            await this.db.query(WRITE_INBOX_OUTCOMES, [
              rows.map((o) => o.id),
              rows.map((o) => o.status),
              rows.map((o) => o.processedAt),
              rows.map((o) => o.token),
            ]),
          ).map((r) => r.id),
        );
        return batch.map((outcomes) => outcomes.map((o) => written.has(o.id)));
      },
      { maxItems: MAX_CLAIM, maxInFlight: 2 },
    );
  }

  override onApplicationBootstrap(): void {
    this.inbox.onWake((lanes) => {
      for (const lane of lanes) {
        this.wokenLanes.add(lane);
      }
      this.wakeUp?.();
      this.kick();
    });
    super.onApplicationBootstrap();
  }

  /**
   * The gateway an event's handling calls, if known before running it (the per-gateway bound). Computed, not read
   * from the row's lane: Cleeng events stored before lanes existed sit in lane '' and are still bounded.
   */
  private gatewayOf(event: InboxEventEntity): string | undefined {
    return this.inbox.laneOf(event.source, event.payload) || undefined;
  }

  /** How many events calling `gateway` may run at once (INBOX_GATEWAY_CONCURRENCY[_BY_GATEWAY], capped at the slots). */
  private boundOf(gateway: string): number {
    return this.config.inbox.gatewayConcurrencyByGateway.get(gateway) ?? this.config.inbox.gatewayConcurrency;
  }

  protected async pass(): Promise<InboxPassSummary> {
    const summary: InboxPassSummary = { done: 0, ignored: 0, retried: 0, failed: 0 };
    const { concurrency } = this.config.inbox;
    // claimed and not started; held = queued + running, all under lease (renewed by the heartbeat)
    const queued: HeldEvent[] = [];
    const held = new Map<string, string>();
    const heldPerLane = new Map<string, number>();
    const runningPerGateway = new Map<string, number>();
    const running = new Set<Promise<void>>();
    // lanes seen in this pass, and those whose last claim came back short (nothing else due there until a wake-up)
    const knownLanes = new Set<string>(['']);
    const drained = new Set<string>();
    let otherLanesDrained = false;
    // the first claim looks in every lane
    let lookedInEveryLaneAt = performance.now();
    let signal: () => void = () => undefined;
    this.wokenLanes.clear();
    const heartbeat = this.heartbeat(held);
    let failure: { error: unknown } | undefined;
    try {
      for (;;) {
        if (performance.now() - lookedInEveryLaneAt >= LOOK_IN_EVERY_LANE_MS) {
          lookedInEveryLaneAt = performance.now();
          drained.clear();
          otherLanesDrained = false;
        }
        // only the lanes of the events stored: looking for every lane present walks the due index's entries of
        // events already processed (until vacuum), the claim's largest read (docs/performance-history.md,
        // eighteenth pass)
        for (const lane of this.wokenLanes) {
          knownLanes.add(lane);
          drained.delete(lane);
        }
        this.wokenLanes.clear();
        // shutting down: finish the events in hand, start and claim no other
        if (this.stopped) {
          break;
        }
        const startable = (held: HeldEvent): boolean => {
          const gateway = this.gatewayOf(held.event);
          return gateway === undefined || (runningPerGateway.get(gateway) ?? 0) < this.boundOf(gateway);
        };
        // start what the slots and the per-gateway bound allow, oldest first
        for (let i = 0; i < queued.length && running.size < concurrency;) {
          const next = queued[i];
          if (!next || !startable(next)) {
            i += 1;
            continue;
          }
          queued.splice(i, 1);
          const gateway = this.gatewayOf(next.event);
          if (gateway !== undefined) {
            runningPerGateway.set(gateway, (runningPerGateway.get(gateway) ?? 0) + 1);
          }
          const task: Promise<void> = this.process(next.event, next.token)
            .then((outcome) => {
              if (outcome) {
                summary[outcome] += 1;
              }
            })
            // the outcome write failed: the lease expires and the event is retried
            .catch((err: unknown) => this.logger.error(`inbox ${next.event.id}: ${String(err)}`))
            .finally(() => {
              held.delete(next.event.id);
              heldPerLane.set(next.event.lane, (heldPerLane.get(next.event.lane) ?? 1) - 1);
              if (gateway !== undefined) {
                runningPerGateway.set(gateway, (runningPerGateway.get(gateway) ?? 1) - 1);
              }
              running.delete(task);
              signal();
            });
          running.add(task);
        }
        const limits = this.laneLimits(knownLanes, drained, otherLanesDrained, queued, heldPerLane);
        if (limits.otherLanes > 0 || [...limits.perLane.values()].some((n) => n > 0)) {
          let claimed: HeldEvent[];
          try {
            claimed = await this.claim(limits);
          } catch (error) {
            // finish what is running (its leases renewed), then fail the pass
            failure = { error };
            break;
          }
          const claimedPerLane = new Map<string, number>();
          for (const event of claimed) {
            const lane = event.event.lane;
            held.set(event.event.id, event.token);
            heldPerLane.set(lane, (heldPerLane.get(lane) ?? 0) + 1);
            claimedPerLane.set(lane, (claimedPerLane.get(lane) ?? 0) + 1);
            queued.push(event);
          }
          for (const [lane, limit] of limits.perLane) {
            if (limit > 0 && (claimedPerLane.get(lane) ?? 0) < limit) {
              drained.add(lane);
            }
          }
          if (limits.otherLanes > 0) {
            // every lane present was claimed from: short ones are drained, full ones are tracked from now on
            for (const [lane, n] of claimedPerLane) {
              if (!limits.perLane.has(lane)) {
                knownLanes.add(lane);
                if (n < limits.otherLanes) {
                  drained.add(lane);
                }
              }
            }
            otherLanesDrained = true;
          }
          continue;
        }
        if (running.size === 0 && this.wokenLanes.size === 0) {
          break;
        }
        await new Promise<void>((resolve) => {
          signal = resolve;
          this.wakeUp = resolve;
          if (this.wokenLanes.size > 0 || this.stopped) {
            resolve();
          }
        });
        this.wakeUp = undefined;
      }
      await Promise.all(running);
    } finally {
      clearInterval(heartbeat);
      this.wakeUp = undefined;
    }
    // claimed but not started (shutdown): another instance may take them at once
    await this.release(queued);
    if (failure) {
      throw failure.error;
    }
    return summary;
  }

  /**
   * How many events to claim per lane: a lane is refilled once its queue is down to half a round of its slots (so
   * at most about one round waits beside its running events), up to two rounds held, unless its last claim came
   * back short. Lanes not seen yet get a gateway's two rounds. Zero everywhere: nothing to claim now.
   */
  private laneLimits(
    knownLanes: ReadonlySet<string>,
    drained: ReadonlySet<string>,
    otherLanesDrained: boolean,
    queued: readonly HeldEvent[],
    heldPerLane: ReadonlyMap<string, number>,
  ): LaneLimits {
    const queuedPerLane = new Map<string, number>();
    for (const { event } of queued) {
      queuedPerLane.set(event.lane, (queuedPerLane.get(event.lane) ?? 0) + 1);
    }
    const { concurrency, gatewayConcurrency } = this.config.inbox;
    const perLane = new Map<string, number>();
    for (const lane of knownLanes) {
      // events of a lane that may run at once: the gateway's bound, or every slot for lane ''
      const slots = lane === '' ? concurrency : this.boundOf(lane);
      const room = 2 * slots - (heldPerLane.get(lane) ?? 0);
      const low = (queuedPerLane.get(lane) ?? 0) * 2 <= slots;
      perLane.set(lane, !drained.has(lane) && low && room > 0 ? Math.min(room, MAX_CLAIM) : 0);
    }
    return { perLane, otherLanes: otherLanesDrained ? 0 : Math.min(2 * gatewayConcurrency, MAX_CLAIM) };
  }

  /**
   * Events leased under a fresh token, oldest first. The lease is short (INBOX_LEASE_MS) and renewed by a heartbeat
   * while the event is held, so a crashed instance's events come back soon but a slow handler keeps its event; the
   * token fences every write, so an instance that lost its lease (stalled past it) cannot overwrite the outcome
   * of the instance that took the event over. One statement leases and reads the rows of every lane.
   */
  private async claim(limits: LaneLimits): Promise<HeldEvent[]> {
    const now = this.clock.now();
    const token = randomUUID();
    const rows = await claimLeased<InboxEventRow>(this.db, inboxClaim(now, limits, this.leaseUntil(), token));
    return rows
      .map(toEntity)
      .sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime())
      .map((event) => ({ event, token }));
  }

  private leaseUntil(): Date {
    return new Date(this.clock.now().getTime() + this.config.inbox.leaseMs);
  }

  /** Renews the lease of the events still held (id -> claim token), three times per lease length. */
  private heartbeat(held: ReadonlyMap<string, string>): NodeJS.Timeout {
    const timer = setInterval(
      () => {
        if (held.size === 0) {
          return;
        }
        this.db
          .query(RENEW_LEASES, [[...held.keys()], [...held.values()], this.leaseUntil()])
          .catch((err: unknown) => this.logger.warn(`inbox lease renewal failed: ${String(err)}`));
      },
      Math.max(50, Math.floor(this.config.inbox.leaseMs / 3)),
    );
    timer.unref();
    return timer;
  }

  private async release(events: readonly HeldEvent[]): Promise<void> {
    if (events.length > 0) {
      await this.db.query(RELEASE_LEASES, [events.map((h) => h.event.id), events.map((h) => h.token)]);
    }
  }

  /** Runs the handler and writes its outcome, fenced by the lease token; undefined when the lease was lost. */
  private async process(event: InboxEventEntity, token: string): Promise<keyof InboxPassSummary | undefined> {
    const handler = this.inbox.handler(event.source);
    try {
      if (!handler) {
        throw new Error(`no handler for ${event.source} events`);
      }
      const outcome = await handler(event);
      const [written] = await this.outcomes.submit([
        { id: event.id, status: outcome, processedAt: this.clock.now(), token },
      ]);
      return this.fenced(event, written === true) ? outcome : undefined;
    } catch (err) {
      const attempts = event.attempts + 1;
      const message = err instanceof Error ? err.message : String(err);
      const exhausted = attempts >= this.config.inbox.maxAttempts;
      if (err instanceof RetryLaterError) {
        this.logger.log(
          `inbox ${event.source}/${event.eventType} ${event.id} not applicable yet: ${message}`,
        );
      } else {
        this.logger.error(
          `inbox ${event.source}/${event.eventType} ${event.id} attempt ${attempts} failed: ${message}`,
        );
      }
      const delay = backoffDelay(attempts, this.config.inbox.backoffBaseMs, this.config.inbox.backoffMaxMs);
      const written: unknown = await this.db.query(
        `UPDATE inbox_events SET status = $2, attempts = $3, last_error = $4, next_attempt_at = $5, locked_until = NULL,
           lease_token = NULL
         WHERE id = $1 AND lease_token = $6 RETURNING id`,
        [
          event.id,
          exhausted ? 'failed' : 'pending',
          attempts,
          message,
          new Date(this.clock.now().getTime() + delay),
          token,
        ],
      );
      if (!this.fenced(event, returnedRows(written).length > 0)) {
        return undefined;
      }
      return exhausted ? 'failed' : 'retried';
    }
  }

  /** Whether the fenced outcome write hit the row; if not, the lease had passed to another instance. */
  private fenced(event: InboxEventEntity, written: boolean): boolean {
    if (written) {
      return true;
    }
    this.logger.warn(
      `inbox ${event.source}/${event.eventType} ${event.id}: lease lost while its handler ran; outcome not written ` +
        `(the instance holding the lease now writes it; handlers are idempotent)`,
    );
    return false;
  }
}
