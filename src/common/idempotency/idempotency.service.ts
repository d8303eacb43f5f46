import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { KeyedDigest } from '../crypto/keyed-digest';
import { DomainError } from '../errors/domain-error';
import { returnedRows } from '../database/query-result';

export type IdempotencyBegin = { kind: 'new' } | { kind: 'replay'; status: number; body: unknown };

const KEY_PATTERN = /^[A-Za-z0-9_\-:.]{1,255}$/;
/** Longer than any request can take (gateway timeout x retries): older `in_progress` rows are abandoned. */
const STALE_IN_PROGRESS_S = 120;

/**
 * Incoming Idempotency-Key store. The first request with a key runs; a replay with the same body
 * gets the stored response; the same key with a different body is a 409. Failed requests release
 * the key so the client can retry them with it.
 */
@Injectable()
export class IdempotencyService {
  private readonly requestDigest: KeyedDigest;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.requestDigest = new KeyedDigest(config.encryptionKey, 'idempotency-request');
  }

  /**
   * Fingerprint of a request. Keyed (HMAC), because bodies carry card numbers, CVCs and expiry
   * dates: an unkeyed hash in a leaked table could be brute-forced back to them.
   */
  requestHash(request: unknown): string {
    return this.requestDigest.hex(stableStringify(request));
  }

  static assertValidKey(key: string): void {
    if (!KEY_PATTERN.test(key)) {
      throw new DomainError(
        'VALIDATION_FAILED',
        'Idempotency-Key must be 1-255 characters of [A-Za-z0-9_-:.]',
        [{ field: 'Idempotency-Key', messages: ['must be 1-255 characters of [A-Za-z0-9_-:.]'] }],
      );
    }
  }

  async begin(scope: string, key: string, requestHash: string): Promise<IdempotencyBegin> {
    const inserted: unknown[] = await this.db.query(
      `INSERT INTO idempotency_records (scope, key, request_hash, state) VALUES ($1, $2, $3, 'in_progress')
       ON CONFLICT (scope, key) DO NOTHING RETURNING key`,
      [scope, key, requestHash],
    );
    if (inserted.length === 1) {
      return { kind: 'new' };
    }
    const rows: {
      request_hash: string;
      state: string;
      response_status: number | null;
      response_body: unknown;
    }[] = await this.db.query(
      `SELECT request_hash, state, response_status, response_body FROM idempotency_records WHERE scope = $1 AND key = $2`,
      [scope, key],
    );
    const row = rows[0];
    if (!row) {
      // released between our insert and select: the other request failed; let the client retry
      throw new DomainError(
        'IDEMPOTENCY_REQUEST_IN_PROGRESS',
        'a request with this Idempotency-Key just finished; retry',
      );
    }
    if (row.request_hash !== requestHash) {
      throw new DomainError(
        'IDEMPOTENCY_KEY_REUSED',
        'this Idempotency-Key was already used with a different request body',
      );
    }
    if (row.state !== 'completed' || row.response_status === null) {
      // a request that died with its process (crash, deploy) must not block its key forever
      const taken = returnedRows(
        await this.db.query(
          `UPDATE idempotency_records SET created_at = now()
           WHERE scope = $1 AND key = $2 AND state = 'in_progress' AND created_at < now() - make_interval(secs => $3)
           RETURNING key`,
          [scope, key, STALE_IN_PROGRESS_S],
        ),
      );
      if (taken.length === 1) {
        return { kind: 'new' };
      }
      throw new DomainError(
        'IDEMPOTENCY_REQUEST_IN_PROGRESS',
        'a request with this Idempotency-Key is still in progress',
      );
    }
    return { kind: 'replay', status: row.response_status, body: row.response_body };
  }

  async complete(scope: string, key: string, status: number, body: unknown): Promise<void> {
    await this.db.query(
      `UPDATE idempotency_records SET state = 'completed', response_status = $3, response_body = $4
       WHERE scope = $1 AND key = $2`,
      [scope, key, status, JSON.stringify(body ?? null)],
    );
  }

  async release(scope: string, key: string): Promise<void> {
    await this.db.query(
      `DELETE FROM idempotency_records WHERE scope = $1 AND key = $2 AND state = 'in_progress'`,
      [scope, key],
    );
  }
}

/** JSON with sorted keys, so `{a,b}` and `{b,a}` are the same request. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(stableStringify).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
