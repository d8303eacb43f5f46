import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DomainError } from '../common/errors/domain-error';
import { HttpClient, HttpNetworkError, HttpResponse, HttpTimeoutError } from '../common/http/http-client';
import { CleengOrder, CreateOrderRequest } from './cleeng.types';

/**
 * Cleeng answered 4xx (or `success: false`): our request was refused. Whether repeating it can
 * help depends on the status (a rotated publisher token is fixed by an operator; a validation
 * error is not): see the outbox's delivery-failure classification.
 */
export class CleengRejectedError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Cleeng explained the refusal in an error body (`{success: false, message}`) */
    readonly explained = false,
  ) {
    super(message);
  }
}

/** Cleeng could not be reached or failed (timeout, network, 5xx, 408, 429): try again later. */
export class CleengUnavailableError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    /** from `Retry-After` (429/503): do not call again before this many ms */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/**
 * Cleeng Core API 3.1 with `X-Publisher-Token`. Reports (payments, payment details, terminations)
 * are never sent from here directly by flows: they go through the outbox, which calls `send`.
 */
@Injectable()
export class CleengClient {
  private readonly http = new HttpClient('cleeng');

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Synchronous: the front-end needs the order before it can pay. */
  async createOrder(request: CreateOrderRequest, idempotencyKey?: string): Promise<CleengOrder> {
    try {
      const body = await this.send<{ order?: CleengOrder }>('POST', '/orders', request, idempotencyKey);
      if (!body.order) {
        throw new DomainError('UPSTREAM_UNAVAILABLE', 'Cleeng returned no order');
      }
      return body.order;
    } catch (err) {
      if (err instanceof CleengRejectedError) {
        throw new DomainError(
          err.status === 404 ? 'NOT_FOUND' : 'UPSTREAM_REJECTED',
          `Cleeng: ${err.message}`,
        );
      }
      if (err instanceof CleengUnavailableError) {
        throw new DomainError('UPSTREAM_UNAVAILABLE', `Cleeng unavailable: ${err.message}`);
      }
      throw err;
    }
  }

  /** One call to Cleeng; throws CleengRejectedError (4xx) or CleengUnavailableError (retry later). */
  async send<T = Record<string, unknown>>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
    idempotencyKey?: string,
  ): Promise<T> {
    let res: HttpResponse;
    try {
      res = await this.http.request({
        method,
        url: `${this.config.cleeng.apiUrl}${path}`,
        headers: { 'x-publisher-token': this.config.cleeng.publisherToken },
        body,
        timeoutMs: this.config.cleeng.timeoutMs,
        idempotencyKey,
      });
    } catch (err) {
      if (err instanceof HttpTimeoutError || err instanceof HttpNetworkError) {
        throw new CleengUnavailableError(err.message);
      }
      throw err;
    }
    const envelope = (res.body ?? {}) as { success?: boolean; message?: string };
    if (res.status >= 500 || res.status === 429 || res.status === 408) {
      throw new CleengUnavailableError(
        `HTTP ${res.status}${envelope.message ? `: ${envelope.message}` : ''}`,
        res.status,
        retryAfterMs(res.headers.get('retry-after'), Date.now()),
      );
    }
    if (res.status >= 400 || envelope.success === false) {
      const explained = typeof envelope.message === 'string' && envelope.message.length > 0;
      throw new CleengRejectedError(res.status, envelope.message ?? `HTTP ${res.status}`, explained);
    }
    return res.body as T;
  }
}

/** `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null || header.trim() === '') {
    return undefined;
  }
  const value = header.trim();
  if (/^\d+$/.test(value)) {
    return Number(value) * 1000;
  }
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
