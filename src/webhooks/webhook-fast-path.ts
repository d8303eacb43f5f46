import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { httpRequestDuration } from '../common/metrics/process-metrics';
import { pathOf } from '../logger';
import { WEBHOOK_BODY_LIMIT_BYTES, WebhookAnswer } from './webhook-intake';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export interface WebhookFastPathDeps {
  /** which `/webhooks/<source>` deliveries the intake stores */
  accepts(source: string): boolean;
  /** verify, parse, store; throws on anything but a stored delivery */
  answer(source: string, headers: IncomingMessage['headers'], body: Buffer): Promise<WebhookAnswer>;
  /** the request log, one line per delivery as the Express path writes (src/logger.ts) */
  log: Pick<Logger, 'info'>;
}

/**
 * The webhook intake without Express and Nest in the way (issue 11: their per-request plumbing cost more CPU than
 * verifying and storing a webhook). It answers a plain, well-formed delivery (`POST /webhooks/<source>`, a known
 * source, a declared length within the limit, no content encoding) once the intake has stored it. Everything
 * else goes to Express untouched; a delivery that fails (bad signature, malformed, store failed) goes to Express
 * with its bytes already read (`req.body`; the raw parser sees a finished stream and keeps it), where the
 * controller meets the same failure and the exception filter answers it exactly as it answers every error.
 */
export function installWebhookFastPath(server: Server, deps: WebhookFastPathDeps): void {
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  const forward: RequestListener = (req, res) => {
    for (const listener of listeners) {
      listener.call(server, req, res);
    }
  };
  const securityHeaders = helmetHeaders();
  // the histogram's child per route, resolved once (labels are hashed and checked on every unbound observation)
  const durations = new Map<string, ReturnType<typeof httpRequestDuration.labels>>();
  const durationOf = (route: string): ReturnType<typeof httpRequestDuration.labels> => {
    let child = durations.get(route);
    if (!child) {
      child = httpRequestDuration.labels({ method: 'POST', route, status: '200' });
      durations.set(route, child);
    }
    return child;
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const source = fastSource(req);
    if (source === undefined || !deps.accepts(source)) {
      forward(req, res);
      return;
    }
    const started = performance.now();
    readBody(req, (body) => {
      deps.answer(source, req.headers, body).then(
        (answer) => {
          // all at once: writeHead without earlier setHeader calls writes them without the header map
          res.writeHead(200, {
            ...securityHeaders,
            'Content-Type': answer.contentType,
            'Content-Length': Buffer.byteLength(answer.body),
          });
          res.end(answer.body);
          const elapsedMs = performance.now() - started;
          durationOf(answer.route).observe(elapsedMs / 1000);
          deps.log.info(
            {
              req: { method: 'POST', url: pathOf(req.url) },
              res: { statusCode: 200 },
              responseTime: Math.round(elapsedMs),
            },
            'request completed',
          );
        },
        () => {
          (req as IncomingMessage & { body?: Buffer }).body = body;
          forward(req, res);
        },
      );
    });
  });
}

/** The source of a delivery the bare path may take, or undefined (Express takes it). */
function fastSource(req: IncomingMessage): string | undefined {
  if (req.method !== 'POST' || !req.url?.startsWith('/webhooks/')) {
    return undefined;
  }
  const path = pathOf(req.url);
  const source = path.slice('/webhooks/'.length);
  if (source.length === 0 || source.includes('/')) {
    return undefined;
  }
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    return undefined; // the raw parser inflates it
  }
  const length = Number(req.headers['content-length']);
  if (!Number.isInteger(length) || length <= 0 || length > WEBHOOK_BODY_LIMIT_BYTES) {
    return undefined; // chunked, empty or too large: the raw parser's checks and answers
  }
  return source;
}

/** The declared body, whole (its length was checked); a client that goes away gets nothing. */
function readBody(req: IncomingMessage, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > WEBHOOK_BODY_LIMIT_BYTES) {
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.once('end', () => done(chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks, size)));
  req.once('error', () => req.destroy());
}

/** The headers helmet() sets on every Express answer, taken once so the bare answers carry the same. */
function helmetHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader(name: string, value: unknown): void {
      headers[name] = String(value);
    },
    removeHeader(): void {},
  };
  helmet()({} as IncomingMessage, res as unknown as ServerResponse, () => undefined);
  return headers;
}
