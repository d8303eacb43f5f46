import { Writable } from 'node:stream';
import express from 'express';
import request from 'supertest';
import { AppLogger, createLogs, pathOf, requestLogMiddleware } from './logger';

type Line = Record<string, unknown> & { msg?: string; level?: number };

function capture(level: Parameters<typeof createLogs>[0]['logLevel'] = 'info'): {
  logs: ReturnType<typeof createLogs>;
  lines: Line[];
} {
  const lines: Line[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString('utf8').split('\n').filter(Boolean)) {
        lines.push(JSON.parse(text) as Line);
      }
      done();
    },
  });
  return { logs: createLogs({ logLevel: level }, destination, ['*.someGatewaySecret']), lines };
}

/**
 * An Express app wired as bootstrap.ts wires it: the request log first (binding service lines, as with
 * LOG_REQUEST_CONTEXT=true, unless told not to), then a route logging through Nest's API.
 */
function appWith(logs: ReturnType<typeof createLogs>, bindServiceLines = true): express.Express {
  const logger = new AppLogger(logs.root);
  const app = express();
  app.use(requestLogMiddleware(logs.requests, { bindServiceLines }));
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.post('/v1/things', (_req, res) => {
    // after an await, as services log: the request's scope must survive it
    void Promise.resolve().then(() => {
      logger.warn({ token: 'tok_secret', orderId: 'o-1' }, 'OrdersService');
      logger.log('made a thing', 'OrdersService');
      res.status(201).json({ ok: true });
    });
  });
  app.get('/v1/broken', (_req, res) => {
    res.status(500).json({ error: 'boom' });
  });
  return app;
}

async function settled(lines: Line[], count: number): Promise<void> {
  for (let i = 0; i < 50 && lines.length < count; i += 1) {
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the request log and the services’ logger', () => {
  it('writes one line per request: its id, method, path without the query, status and time', async () => {
    const { logs, lines } = capture();
    const app = appWith(logs);
    await request(app).post('/v1/things?redirectResult=single-use').expect(201);
    await request(app).get('/v1/broken').expect(500);
    await settled(lines, 4);
    const requestLines = lines.filter((l) => typeof l.responseTime === 'number');
    expect(requestLines.map((l) => [l.msg, l.level, l.req, l.res])).toEqual([
      ['request completed', 30, { id: 1, method: 'POST', url: '/v1/things' }, { statusCode: 201 }],
      ['request errored', 50, { id: 2, method: 'GET', url: '/v1/broken' }, { statusCode: 500 }],
    ]);
    expect(JSON.stringify(lines)).not.toContain('single-use');
  });

  it('binds service lines written inside a request to it, redacted, and leaves the others unbound', async () => {
    const { logs, lines } = capture();
    const app = appWith(logs);
    await request(app).get('/health').expect(200);
    await request(app).post('/v1/things').expect(201);
    await settled(lines, 3);
    const serviceLines = lines.filter((l) => l.context === 'OrdersService');
    expect(serviceLines.map((l) => [l.msg, l.req, l.token, l.orderId])).toEqual([
      [undefined, { id: 2, method: 'POST', url: '/v1/things' }, '[redacted]', 'o-1'],
      ['made a thing', { id: 2, method: 'POST', url: '/v1/things' }, undefined, undefined],
    ]);
    // /health is numbered but not logged: probes would drown the log
    expect(lines.filter((l) => (l.req as { url?: string } | undefined)?.url === '/health')).toEqual([]);

    new AppLogger(logs.root).log('outside any request', 'Main');
    await settled(lines, 4);
    expect(lines.at(-1)).toMatchObject({ msg: 'outside any request', context: 'Main' });
    expect(lines.at(-1)).not.toHaveProperty('req');
  });

  it('without LOG_REQUEST_CONTEXT writes the request lines but binds no service line (no request scope is run)', async () => {
    const { logs, lines } = capture();
    const app = appWith(logs, false);
    await request(app).post('/v1/things').expect(201);
    await settled(lines, 3);
    expect(lines.filter((l) => l.msg === 'request completed').map((l) => l.req)).toEqual([
      { id: 1, method: 'POST', url: '/v1/things' },
    ]);
    const serviceLines = lines.filter((l) => l.context === 'OrdersService');
    expect(serviceLines.map((l) => [l.msg, l.req, l.token])).toEqual([
      [undefined, undefined, '[redacted]'],
      ['made a thing', undefined, undefined],
    ]);
  });

  it("keeps Nest's logger contract: Errors as err, the exception handlers' (message, stack), levels", async () => {
    const { logs, lines } = capture('debug');
    const logger = new AppLogger(logs.root);
    logger.error(new Error('kaput'), 'Worker');
    logger.error('Unhandled', 'Error: x\n    at handler (a.ts:1:1)', 'ExceptionsHandler');
    logger.verbose('not at debug', 'Worker');
    logger.debug({ gateway: { someGatewaySecret: 's3' } }, 'Worker');
    await settled(lines, 3);
    expect(lines.map((l) => [l.level, l.context, l.msg])).toEqual([
      [50, 'Worker', 'kaput'],
      [50, 'ExceptionsHandler', 'Unhandled'],
      [20, 'Worker', undefined],
    ]);
    expect((lines[1]?.err as { stack?: string }).stack).toContain('at handler (a.ts:1:1)');
    expect(lines[2]?.gateway).toEqual({ someGatewaySecret: '[redacted]' });
  });

  it('binds no child logger for a line below the level (every outgoing call logs at debug)', async () => {
    const { logs, lines } = capture('info');
    const child = jest.spyOn(logs.root, 'child');
    const logger = new AppLogger(logs.root);
    const app = express();
    app.use(requestLogMiddleware(logs.requests, { bindServiceLines: true }));
    app.get('/v1/quiet', (_req, res) => {
      logger.debug('POST /payments -> 200 in 3 ms', 'http:adyen');
      logger.verbose('not at info either', 'http:adyen');
      res.json({ ok: true });
    });
    app.get('/v1/loud', (_req, res) => {
      logger.log('made a thing', 'OrdersService');
      res.json({ ok: true });
    });
    await request(app).get('/v1/quiet').expect(200);
    expect(child).not.toHaveBeenCalled();
    await request(app).get('/v1/loud').expect(200);
    expect(child).toHaveBeenCalledTimes(1);
    await settled(lines, 3);
    expect(lines.filter((l) => l.context !== undefined).map((l) => l.msg)).toEqual(['made a thing']);
  });

  it('names a path without its query', () => {
    expect(pathOf('/v1/payments/1/complete?redirectResult=x')).toBe('/v1/payments/1/complete');
    expect(pathOf(undefined)).toBe('');
  });
});
