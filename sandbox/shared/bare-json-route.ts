import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Express's JSON parser's default limit, which the Nest routes keep. */
const JSON_BODY_LIMIT_BYTES = 100 * 1024;

/** One request a bare route answers: its JSON body parsed, its path's `:name` segments decoded. */
export interface BareJsonRequest {
  method: string;
  /** the request's path (no query string: a request with one goes to Express) */
  path: string;
  params: Readonly<Record<string, string>>;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** What an emulated route answers, without HTTP framework objects (a Nest route hands it on: express-answer.ts). */
export interface EmulatorAnswer<B = unknown> {
  status: number;
  body: B;
  /** response headers besides the JSON content type and length */
  headers?: Readonly<Record<string, string>>;
}

export interface BareJsonRoute {
  method: 'POST' | 'PATCH';
  /** the path; a segment `:name` matches any one non-empty segment, passed decoded as `params.name` */
  path: string;
  /** the route's answer; must not throw (a failure becomes a 500 with `failedBody`) */
  answer(request: BareJsonRequest): Promise<EmulatorAnswer>;
  /** what the vendor answers on an internal error */
  failedBody: unknown;
}

interface CompiledRoute {
  route: BareJsonRoute;
  /** per segment: the literal, or the parameter's name after `:` */
  segments: { literal?: string; param?: string }[];
}

/**
 * Emulated vendor routes that the benchmarks call thousands of times a second, answered without Express and Nest
 * in front (their per-request plumbing cost the standalone emulators a third of their CPU, which on a shared
 * machine the app under test then did not get). Only a plain request is taken: a route's method and path, no query
 * string, a JSON content type, a declared length within Express's default JSON limit, no content encoding, and a
 * body that parses as a JSON object or array (what Express's strict JSON parser accepts). Everything else goes to
 * Express untouched. A body that is not such JSON goes on to Express as read (a finished stream with `req.body` set
 * to its text, which the body parser then leaves alone), so the Nest route answers it as it answers any bad body.
 */
export function installBareJsonRoutes(server: Server, routes: readonly BareJsonRoute[]): void {
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  const forward: RequestListener = (req, res) => {
    for (const listener of listeners) {
      listener.call(server, req, res);
    }
  };
  const exact = new Map<string, BareJsonRoute>();
  const patterns: CompiledRoute[] = [];
  for (const route of routes) {
    if (route.path.includes('/:')) {
      patterns.push({ route, segments: compile(route.path) });
    } else {
      exact.set(`${route.method} ${route.path}`, route);
    }
  }
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? '';
    const path = req.url ?? '';
    const found = exact.get(`${method} ${path}`);
    const matched = found ? { route: found, params: {} } : match(patterns, method, path);
    if (!matched || !plainJson(req)) {
      forward(req, res);
      return;
    }
    const { route, params } = matched;
    readBody(req, (raw) => {
      const text = raw.toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      if (typeof body !== 'object' || body === null) {
        (req as IncomingMessage & { body?: unknown }).body = text;
        forward(req, res);
        return;
      }
      route.answer({ method, path, params, headers: req.headers, body }).then(
        (answer) => send(res, answer),
        (error: unknown) => {
          console.error(`sandbox ${route.method} ${route.path} failed`, error);
          send(res, { status: 500, body: route.failedBody });
        },
      );
    });
  });
}

function compile(path: string): CompiledRoute['segments'] {
  return path
    .split('/')
    .map((segment) => (segment.startsWith(':') ? { param: segment.slice(1) } : { literal: segment }));
}

/** The pattern route a path matches, with its parameters decoded as Express decodes them; undefined if none. */
function match(
  patterns: readonly CompiledRoute[],
  method: string,
  path: string,
): { route: BareJsonRoute; params: Record<string, string> } | undefined {
  if (patterns.length === 0 || path.includes('?')) {
    return undefined;
  }
  const parts = path.split('/');
  for (const { route, segments } of patterns) {
    if (route.method !== method || segments.length !== parts.length) {
      continue;
    }
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; ok && i < segments.length; i += 1) {
      const { literal, param } = segments[i] as CompiledRoute['segments'][number];
      const part = parts[i] as string;
      if (param === undefined) {
        ok = part === literal;
      } else if (part === '') {
        ok = false;
      } else {
        try {
          params[param] = decodeURIComponent(part);
        } catch {
          ok = false; // Express answers a malformed escape itself
        }
      }
    }
    if (ok) {
      return { route, params };
    }
  }
  return undefined;
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

function send(res: ServerResponse, answer: EmulatorAnswer): void {
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    ...answer.headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}
