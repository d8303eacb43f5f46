import { Logger } from '@nestjs/common';

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
  /** Sent as `Idempotency-Key` so a retried call has at most one effect upstream. */
  idempotencyKey?: string;
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Headers;
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
    const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
    const code = typeof cause?.code === 'string' ? cause.code : undefined;
    super(`network error calling ${url}: ${code ?? (err instanceof Error ? err.message : String(err))}`);
    this.notSent = code !== undefined && ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'].includes(code);
  }
}

/**
 * Outbound JSON over fetch with a hard timeout on every call. Logs method, path, status and
 * duration only: bodies carry card data and tokens and are never logged.
 */
export class HttpClient {
  private readonly logger: Logger;

  constructor(name: string) {
    this.logger = new Logger(`http:${name}`);
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
    let res: Response;
    try {
      res = await fetch(req.url, {
        method: req.method,
        headers,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        signal: AbortSignal.timeout(req.timeoutMs),
      });
    } catch (err) {
      const ms = Math.round(performance.now() - started);
      if (err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
        this.logger.warn(`${req.method} ${pathOf(req.url)} timed out after ${ms} ms`);
        throw new HttpTimeoutError(req.url, req.timeoutMs);
      }
      this.logger.warn(`${req.method} ${pathOf(req.url)} failed after ${ms} ms`);
      throw new HttpNetworkError(req.url, err);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      if (err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
        throw new HttpTimeoutError(req.url, req.timeoutMs);
      }
      throw new HttpNetworkError(req.url, err);
    }
    this.logger.debug(
      `${req.method} ${pathOf(req.url)} -> ${res.status} in ${Math.round(performance.now() - started)} ms`,
    );
    return { status: res.status, headers: res.headers, body: parseJson(text) as T };
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

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}
