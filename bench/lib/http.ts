import { Agent } from 'undici';

/**
 * A small JSON client for driving the app over real HTTP (keep-alive) with timings. It uses undici's `request`, not
 * `fetch`: the load generator shares the machine's two cores with the app and PostgreSQL, and `fetch` (WHATWG
 * Request/Response/streams per call) cost the bench 0.8 of a core to send 1,260 webhooks/s, more than the app
 * spent taking them in (docs/performance-history.md, third pass).
 */
const dispatcher = new Agent({ keepAliveTimeout: 30_000 });

export interface RawResult {
  status: number;
  text: string;
}

/**
 * One request and its whole answer as text. `timeoutMs` bounds the wait for the answer's headers and then for each
 * part of its body (undici's own default, 300 s, cut off a 100k-subscription rebilling pass that answers only when
 * the pass is over, so every caller states its own).
 */
export async function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
): Promise<RawResult> {
  const target = new URL(url);
  const res = await dispatch(
    target.origin,
    `${target.pathname}${target.search}`,
    method,
    headers,
    body,
    timeoutMs,
  );
  return { status: res.statusCode, text: await res.body.text() };
}

/** A POST whose answer is read for its status only (its body is discarded unread): the open loop's requests. */
export async function sendForStatus(
  origin: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  timeoutMs: number,
): Promise<number> {
  const res = await dispatch(origin, path, 'POST', headers, body, timeoutMs);
  await res.body.dump();
  return res.statusCode;
}

/** The one undici call both senders make, on the shared keep-alive pool. */
function dispatch(
  origin: string,
  path: string,
  method: string,
  headers: Record<string, string>,
  body: string | Buffer | undefined,
  timeoutMs: number,
): ReturnType<typeof dispatcher.request> {
  return dispatcher.request({
    origin,
    path,
    method,
    headers,
    body,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
}

export interface HttpResult {
  status: number;
  /** parsed JSON, or the raw text when the body is not JSON */
  body: unknown;
  ms: number;
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** A request that failed or answered an unexpected status; `detail` is short and safe to print. */
export class RequestFailed extends Error {
  constructor(
    readonly step: string,
    readonly status: number | undefined,
    readonly detail: string,
  ) {
    super(`${step}: ${status === undefined ? 'no response' : `HTTP ${status}`} ${detail}`.trim());
  }
}

export class BenchHttp {
  constructor(
    readonly baseUrl: string,
    private readonly defaultHeaders: Record<string, string> = {},
    private readonly timeoutMs = 30_000,
  ) {}

  async request(method: string, path: string, options: RequestOptions = {}): Promise<HttpResult> {
    const headers: Record<string, string> = { accept: 'application/json', ...this.defaultHeaders };
    Object.assign(headers, options.headers);
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
    }
    const started = performance.now();
    const res = await send(
      `${this.baseUrl}${path}`,
      method,
      headers,
      options.body === undefined ? undefined : JSON.stringify(options.body),
      options.timeoutMs ?? this.timeoutMs,
    );
    const text = res.text;
    const ms = performance.now() - started;
    let body: unknown = text;
    if (text.length > 0) {
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        // not JSON: keep the text
      }
    }
    return { status: res.status, body, ms };
  }

  /** Like `request`, but any status other than `expected` (or a network error) throws RequestFailed. */
  async expect(
    step: string,
    expected: number,
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<HttpResult> {
    let result: HttpResult;
    try {
      result = await this.request(method, path, options);
    } catch (err) {
      throw new RequestFailed(step, undefined, describeError(err));
    }
    if (result.status !== expected) {
      throw new RequestFailed(step, result.status, snippet(result.body));
    }
    return result;
  }
}

/** First 300 characters of a body, for error reports. */
export function snippet(body: unknown, max = 300): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const code =
      typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : undefined;
    return code ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
