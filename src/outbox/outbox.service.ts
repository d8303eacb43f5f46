import { Injectable } from '@nestjs/common';
import { returnedRows } from '../common/database/query-result';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { TokenCipher } from '../common/crypto/token-cipher';
import { OutboxHttpPayload, OutboxMessageEntity } from './outbox-message.entity';

export interface OutboxMessageInput {
  kind: string;
  /** messages of one aggregate are delivered strictly in order */
  aggregateId: string;
  /** unique forever: enqueuing the same report twice is a no-op; also sent as Idempotency-Key */
  dedupeKey: string;
  payload: OutboxHttpPayload;
  /** a secret (recurring token) sealed at rest and put at `payload.secretPath` only when sending */
  secret?: string;
}

/** The columns an enqueue writes and their SQL types, in the order of `OutboxService.columnValues`. */
export const OUTBOX_INSERT_COLUMNS: readonly (readonly [name: string, type: string])[] = [
  ['kind', 'text'],
  ['aggregate_id', 'text'],
  ['dedupe_key', 'text'],
  ['payload', 'jsonb'],
  ['sealed_secret', 'text'],
  ['next_attempt_at', 'timestamptz'],
];

const INSERT_INTO = `INSERT INTO outbox_messages (${OUTBOX_INSERT_COLUMNS.map(([name]) => name).join(', ')})`;

/**
 * The enqueue of one message per row of `from` (a relation with the columns `<prefix><name>` of
 * OUTBOX_INSERT_COLUMNS, typed) whose kind is not null: the messages of a grouped statement.
 */
export function insertOutboxMessagesFrom(from: string, prefix: string): string {
  const columns = OUTBOX_INSERT_COLUMNS.map(([name]) => `${prefix}${name}`);
  return (
    `${INSERT_INTO} SELECT ${columns.join(', ')} FROM ${from} ` +
    `WHERE ${prefix}kind IS NOT NULL ON CONFLICT (dedupe_key) DO NOTHING`
  );
}

export type OutboxReplaySelector = { ids: string[] } | { paymentId: string } | { all: true };

/** Resolves a `{name}` placeholder in a message path from local state at send time (e.g. Cleeng's payment id). */
export type OutboxPathParamResolver = (aggregateId: string, ref?: string) => Promise<string | null>;

export type OutboxResultHandler = (
  manager: EntityManager,
  message: OutboxMessageEntity,
  result: unknown,
) => Promise<void>;

/**
 * A result handler's common case written into the statement that marks the message delivered (one round trip
 * instead of a transaction of four). `deliverIf` gates the delivered mark (e.g. "this payment needs nothing the
 * handler alone does"); `ctes` follow the CTE `delivered` (the outbox row just marked) and must act only
 * `WHERE EXISTS (SELECT 1 FROM delivered)`, so the statement writes all or nothing. Parameters are numbered from
 * `firstParam`. When the mark did not happen, the dispatcher runs the handler's transaction as before.
 */
export type OutboxDeliveredWith = (
  aggregateId: string,
  result: unknown,
  firstParam: number,
) => { deliverIf?: string; ctes: string[]; params: unknown[] };

/** Writes reports to Cleeng in the caller's transaction; OutboxDispatcher delivers them. */
@Injectable()
export class OutboxService {
  private readonly handlers = new Map<string, OutboxResultHandler>();
  private readonly deliveredWiths = new Map<string, OutboxDeliveredWith>();
  private readonly pathParams = new Map<string, OutboxPathParamResolver>();
  private wake: (() => void) | undefined;
  private enqueued = 0;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly cipher: TokenCipher,
    private readonly clock: Clock,
  ) {}

  /** Must be called with the manager of the transaction that makes the local change. */
  async enqueue(manager: EntityManager, message: OutboxMessageInput): Promise<void> {
    const insert = this.insertFrom(message, 1);
    await manager.query(insert.sql, insert.params);
  }

  /**
   * The enqueue as one part of a larger statement, so a state change and its report are one statement (one
   * transaction): `INSERT … SELECT … FROM <from>` inserts the message once per row of `from` (e.g. a CTE
   * holding the changed row: nothing changed, nothing reported). Parameters are numbered from `firstParam`.
   */
  insertFrom(
    message: OutboxMessageInput,
    firstParam: number,
    from?: string,
  ): { sql: string; params: unknown[] } {
    const values = OUTBOX_INSERT_COLUMNS.map(([, type], i) => `$${firstParam + i}::${type}`).join(', ');
    return {
      sql: `${INSERT_INTO} ${from ? `SELECT ${values} FROM ${from}` : `VALUES (${values})`} ON CONFLICT (dedupe_key) DO NOTHING`,
      params: this.columnValues(message),
    };
  }

  /** One message's values for `insertFrom` / `insertOutboxMessagesFrom` (payload as JSON text, the secret sealed). */
  columnValues(message: OutboxMessageInput): [string, string, string, string, string | null, Date] {
    this.enqueued += 1;
    return [
      message.kind,
      message.aggregateId,
      message.dedupeKey,
      JSON.stringify(message.payload),
      message.secret === undefined ? null : this.cipher.encrypt(message.secret),
      this.clock.now(),
    ];
  }

  /**
   * Counts messages written by this process: the dispatcher claims again after a pass only when something may
   * have been enqueued meanwhile (e.g. by a result handler), instead of always ending on an empty claim.
   */
  enqueuedCount(): number {
    return this.enqueued;
  }

  /** Ask the dispatcher to look now (after the enqueuing transaction committed). */
  notify(): void {
    this.wake?.();
  }

  onWake(fn: () => void): void {
    this.wake = fn;
  }

  /** What to do locally once Cleeng accepted a message of this kind (e.g. keep Cleeng's payment id). */
  registerResultHandler(kind: string, handler: OutboxResultHandler): void {
    this.handlers.set(kind, handler);
  }

  resultHandler(kind: string): OutboxResultHandler | undefined {
    return this.handlers.get(kind);
  }

  /** The kind's result handler's common case in the delivered statement itself (see OutboxDeliveredWith). */
  registerDeliveredWith(kind: string, build: OutboxDeliveredWith): void {
    this.deliveredWiths.set(kind, build);
  }

  deliveredWith(kind: string): OutboxDeliveredWith | undefined {
    return this.deliveredWiths.get(kind);
  }

  /**
   * A path like `/payments/{cleengPaymentId}` is completed when sent: the id Cleeng gave an earlier
   * message of the same aggregate may not exist yet when the message is written.
   */
  registerPathParam(name: string, resolver: OutboxPathParamResolver): void {
    this.pathParams.set(name, resolver);
  }

  /** The path with its placeholders filled, or undefined if one cannot be resolved yet. */
  async resolvePath(path: string, aggregateId: string, ref?: string): Promise<string | undefined> {
    let resolved = path;
    for (const [, name] of path.matchAll(/\{(\w+)\}/g)) {
      const resolver = name ? this.pathParams.get(name) : undefined;
      const value = resolver ? await resolver(aggregateId, ref) : null;
      if (value === null) {
        return undefined;
      }
      resolved = resolved.replace(`{${name}}`, encodeURIComponent(value));
    }
    return resolved;
  }

  /** `payload.bodyParams` filled in `body` (ids as numbers), or undefined if one cannot be resolved yet. */
  async resolveBody(
    body: Record<string, unknown>,
    params: Record<string, string>,
    aggregateId: string,
    ref?: string,
  ): Promise<Record<string, unknown> | undefined> {
    const resolved = { ...body };
    for (const [field, name] of Object.entries(params)) {
      const resolver = this.pathParams.get(name);
      const value = resolver ? await resolver(aggregateId, ref) : null;
      if (value === null) {
        return undefined;
      }
      resolved[field] = /^\d{1,15}$/.test(value) ? Number(value) : value;
    }
    return resolved;
  }

  revealSecret(sealed: string): string {
    return this.cipher.decrypt(sealed);
  }

  async list(status?: string, limit = 100): Promise<OutboxMessageEntity[]> {
    return this.db.getRepository(OutboxMessageEntity).find({
      where: status ? { status: status as OutboxMessageEntity['status'] } : {},
      order: { id: 'DESC' },
      take: limit,
    });
  }

  /**
   * Operator action after the cause is fixed: put dead messages back in the queue, chosen by id,
   * by payment (every dead report of that aggregate) or all. They keep their ids, so each
   * payment's reports are still delivered in the order they were written.
   */
  async replay(selector: OutboxReplaySelector): Promise<number> {
    const [where, params] =
      'ids' in selector
        ? ['id = ANY($2::bigint[])', [selector.ids]]
        : 'paymentId' in selector
          ? ['aggregate_id = $2', [selector.paymentId]]
          : ['TRUE', []];
    const rows = returnedRows(
      await this.db.query(
        `UPDATE outbox_messages SET status = 'pending', attempts = 0, next_attempt_at = $1,
           locked_until = NULL, failure_reason = NULL
         WHERE status = 'dead' AND ${where} RETURNING id`,
        [this.clock.now(), ...params],
      ),
    );
    if (rows.length > 0) {
      this.notify();
    }
    return rows.length;
  }

  /** Operator action: put a dead message back in the queue. */
  async requeue(id: string): Promise<boolean> {
    const rows = returnedRows(
      await this.db.query(
        `UPDATE outbox_messages SET status = 'pending', next_attempt_at = $2, locked_until = NULL
         WHERE id = $1 AND status = 'dead' RETURNING id`,
        [id, this.clock.now()],
      ),
    );
    this.notify();
    return rows.length > 0;
  }
}
