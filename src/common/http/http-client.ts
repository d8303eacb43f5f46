import { Logger } from '@nestjs/common';
import { Agent, request } from 'undici';

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
  /** Sent as `Idempotency-Key` so a retried call has at most one effect upstream. */
  idempotencyKey?: string;
}

/** Response headers by lower-case name (a header sent twice reads as its values joined by ", "). */
export interface HttpResponseHeaders {
  get(name: string): string | null;
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: HttpResponseHeaders;
  body: T;
}

/** The upstream did not answer in time: the call may or may not have had its effect. */
export class HttpTimeoutError extends Error {
  constructor(
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super(`no response from ${url} within ${timeoutMs} ms`);
  }
}

/** Connection refused/reset etc. Whether the upstream acted is unknown unless the request never left. */
export class HttpNetworkError extends Error {
  /** true when the connection was never made, so the upstream cannot have acted */
  readonly notSent: boolean;

  constructor(
    readonly url: string,
    err: unknown,
  ) {
    const code = errorCode(err) ?? errorCode((err as { cause?: unknown } | undefined)?.cause);
    super(`network error calling ${url}: ${code ?? (err instanceof Error ? err.message : String(err))}`);
    this.notSent = code !== undefined && NEVER_SENT_CODES.has(code);
  }
}

/** Failures that prove no byte of the request reached the upstream: the connection was never made. */
const NEVER_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function isAbort(err: unknown): boolean {
  return err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

export interface HttpPoolOptions {
  /** most open connections to the vendor at once; further requests queue in the pool */
  connections?: number;
}

/** Default connections per vendor: rebilling and renewals run up to this many calls to one gateway at once. */
export const DEFAULT_HTTP_CONNECTIONS = 128;

/**
 * Outbound JSON with a hard timeout on every call, through one keep-alive connection pool per vendor (an undici
 * Agent: a fresh TCP connection per call costs CPU on both ends and, under load, ephemeral ports). Logs method,
 * path, status and duration only: bodies carry card data and tokens and are never logged.
 */
export class HttpClient {
  private readonly logger: Logger;
  private readonly pool: Agent;

  constructor(name: string, options: HttpPoolOptions = {}) {
    this.logger = new Logger(`http:${name}`);
    this.pool = new Agent({ connections: options.connections ?? DEFAULT_HTTP_CONNECTIONS });
  }

  /** Closes the pooled connections (idle ones never keep the process alive). */
  async close(): Promise<void> {
    await this.pool.close();
  }

  async request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>> {
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    if (req.body !== undefined) {
      headers['content-type'] = 'application/json';
    }
    if (req.idempotencyKey) {
      headers['idempotency-key'] = req.idempotencyKey;
    }
    const started = performance.now();
    const signal = AbortSignal.timeout(req.timeoutMs);
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(req.url, {
        dispatcher: this.pool,
        method: req.method,
        headers,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        signal,
      });
    } catch (err) {
      const ms = Math.round(performance.now() - started);
      if (isAbort(err) || signal.aborted) {
        this.logger.warn(`${req.method} ${pathOf(req.url)} timed out after ${ms} ms`);
        throw new HttpTimeoutError(req.url, req.timeoutMs);
      }
      this.logger.warn(`${req.method} ${pathOf(req.url)} failed after ${ms} ms`);
      throw new HttpNetworkError(req.url, err);
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      if (isAbort(err) || signal.aborted) {
        throw new HttpTimeoutError(req.url, req.timeoutMs);
      }
      throw new HttpNetworkError(req.url, err);
    }
    this.logger.debug(
      `${req.method} ${pathOf(req.url)} -> ${res.statusCode} in ${Math.round(performance.now() - started)} ms`,
    );
    return { status: res.statusCode, headers: new ResponseHeaders(res.headers), body: parseJson(text) as T };
  }
}

class ResponseHeaders implements HttpResponseHeaders {
  constructor(private readonly raw: Record<string, string | string[] | undefined>) {}

  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    if (value === undefined) {
      return null;
    }
    return Array.isArray(value) ? value.join(', ') : value;
  }
}

function parseJson(text: string): unknown {
  if (text === '') {
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The path of an absolute URL without its query, by slicing: built for every call's debug line, logged or not. */
export function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start < 0) {
    return '/';
  }
  const end = url.indexOf('?', start);
  return end < 0 ? url.slice(start) : url.slice(start, end);
}
