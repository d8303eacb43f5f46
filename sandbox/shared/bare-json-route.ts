import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Express's JSON parser's default limit, which the Nest route keeps. */
const JSON_BODY_LIMIT_BYTES = 100 * 1024;

export interface BareJsonRoute {
  method: 'POST';
  /** exact path, no query string */
  path: string;
  /** the route's answer; must not throw (a failure becomes a 500 with `failedBody`) */
  answer(headers: IncomingHttpHeaders, body: unknown): Promise<{ status: number; body: unknown }>;
  /** what the vendor answers on an internal error */
  failedBody: unknown;
}

/**
 * Emulated vendor routes that the benchmarks call thousands of times a second, answered without Express and Nest
 * in front (their per-request plumbing cost the standalone emulators a third of their CPU, which on a shared
 * machine the app under test then did not get). Only a plain request is taken: the exact method and path, a JSON
 * content type, a declared length within Express's default JSON limit, no content encoding. Everything else goes
 * to Express untouched. A body that is not JSON goes on to Express as read (a finished stream with `req.body` set to
 * its text, which the body parser then leaves alone), so the Nest route answers it as it answers any bad body.
 */
export function installBareJsonRoutes(server: Server, routes: readonly BareJsonRoute[]): void {
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  const forward: RequestListener = (req, res) => {
    for (const listener of listeners) {
      listener.call(server, req, res);
    }
  };
  const byPath = new Map(routes.map((route) => [`${route.method} ${route.path}`, route]));
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const route = byPath.get(`${req.method ?? ''} ${req.url ?? ''}`);
    if (!route || !plainJson(req)) {
      forward(req, res);
      return;
    }
    readBody(req, (raw) => {
      const text = raw.toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        (req as IncomingMessage & { body?: unknown }).body = text;
        forward(req, res);
        return;
      }
      route.answer(req.headers, body).then(
        (answer) => send(res, answer.status, answer.body),
        (error: unknown) => {
          console.error(`sandbox ${route.method} ${route.path} failed`, error);
          send(res, 500, route.failedBody);
        },
      );
    });
  });
}

function plainJson(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  if (type === undefined || !/^application\/json\s*(;|$)/i.test(type)) {
    return false;
  }
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    return false;
  }
  const length = Number(req.headers['content-length']);
  return Number.isInteger(length) && length > 0 && length <= JSON_BODY_LIMIT_BYTES;
}

/** The declared body, whole (its length was checked); a client that goes away gets nothing. */
function readBody(req: IncomingMessage, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > JSON_BODY_LIMIT_BYTES) {
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.once('end', () => done(chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks, size)));
  req.once('error', () => req.destroy());
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}
