import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebhookDispatcher } from './webhook-dispatcher';

describe('WebhookDispatcher', () => {
  let server: Server;
  let url: string;
  let answer: (req: IncomingMessage, res: ServerResponse) => void;
  const received: string[] = [];
  let dispatcher: WebhookDispatcher<{ name: string }>;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push(
          `${req.url ?? ''} ${req.headers['x-test'] as string} ${Buffer.concat(chunks).toString()}`,
        );
        answer(req, res);
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?from=test`;
  });

  beforeEach(() => {
    received.length = 0;
    dispatcher = new WebhookDispatcher('test', () => new Date('2026-12-02T00:00:00Z'));
    dispatcher.initialDelayMs = 0;
    dispatcher.retryDelaysMs = [10];
    dispatcher.timeoutMs = 200;
  });

  afterEach(() => dispatcher.close());

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  });

  it('delivers to the URL with its path, query, headers and body', async () => {
    answer = (_req, res) => res.writeHead(200).end('{"ok":true}');
    const [record] = dispatcher.dispatch(
      { name: 'a' },
      { url, headers: { 'x-test': 'h' }, body: '{"n":1}' },
      1,
    );
    expect(await dispatcher.idle(2_000)).toEqual({ idle: true, held: 0 });
    expect(received).toEqual(['/hook?from=test h {"n":1}']);
    expect(record).toMatchObject({
      name: 'a',
      state: 'delivered',
      attempts: 1,
      lastStatus: 200,
      delivered: true,
    });
  });

  it('an answer that does not come within timeoutMs fails the attempt as a timeout, and it is tried again', async () => {
    answer = () => undefined; // never answers
    const [record] = dispatcher.dispatch({ name: 'b' }, { url, headers: { 'x-test': 'h' }, body: '{}' }, 1);
    expect(await dispatcher.idle(3_000)).toEqual({ idle: true, held: 0 });
    expect(received).toHaveLength(2);
    expect(record).toMatchObject({ state: 'failed', attempts: 2, lastStatus: null, lastError: 'timeout' });
  });

  it('a 5xx is retried; close() stops a delivery in flight', async () => {
    answer = (_req, res) => res.writeHead(503).end();
    const [failed] = dispatcher.dispatch({ name: 'c' }, { url, headers: { 'x-test': 'h' }, body: '{}' }, 1);
    expect(await dispatcher.idle(2_000)).toEqual({ idle: true, held: 0 });
    expect(failed).toMatchObject({ state: 'failed', attempts: 2, lastStatus: 503, delivered: false });

    answer = () => undefined;
    dispatcher.timeoutMs = 10_000;
    const [stopped] = dispatcher.dispatch({ name: 'd' }, { url, headers: { 'x-test': 'h' }, body: '{}' }, 1);
    await new Promise((ok) => setTimeout(ok, 50));
    const started = Date.now();
    dispatcher.close();
    expect(await dispatcher.idle(2_000)).toEqual({ idle: true, held: 0 });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(stopped).toMatchObject({ state: 'failed', delivered: false });
  });

  it('close() stops every delivery at once, those waiting to retry and those in flight', async () => {
    let answered = 0;
    answer = (_req, res) => {
      answered += 1;
      if (answered <= 20) {
        res.writeHead(503).end(); // these wait for their retry
      } // the rest never answer: in flight
    };
    dispatcher.retryDelaysMs = [60_000];
    dispatcher.timeoutMs = 60_000;
    const records = Array.from({ length: 40 }, (_, i) =>
      dispatcher.dispatch({ name: `m${i}` }, { url, headers: { 'x-test': 'h' }, body: '{}' }, 1),
    ).flat();
    while (received.length < 40) {
      await new Promise((ok) => setTimeout(ok, 10));
    }
    dispatcher.close();
    expect(await dispatcher.idle(2_000)).toEqual({ idle: true, held: 0 });
    expect(records.every((r) => r.state === 'failed' && !r.delivered)).toBe(true);
    expect(records.filter((r) => r.lastStatus === 503)).toHaveLength(20);
    // after close, nothing more goes out
    const [late] = dispatcher.dispatch({ name: 'late' }, { url, headers: { 'x-test': 'h' }, body: '{}' }, 1);
    expect(await dispatcher.idle(2_000)).toEqual({ idle: true, held: 0 });
    expect(late).toMatchObject({ state: 'failed', attempts: 0, lastError: 'emulator shut down' });
    expect(received).toHaveLength(40);
  });

  it('the delivery log keeps the newest 5,000 entries', () => {
    for (let i = 0; i < 6_100; i += 1) {
      dispatcher.dispatch({ name: `lost${i}` }, { url, headers: {}, body: '{}' }, 0);
    }
    const log = dispatcher.deliveries();
    expect(log).toHaveLength(5_000);
    expect(log[0]?.name).toBe('lost1100');
    expect(log[4_999]?.name).toBe('lost6099');
  });
});
