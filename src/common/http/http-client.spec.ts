import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { HttpClient, HttpNetworkError, HttpTimeoutError, pathOf } from './http-client';

describe('HttpClient', () => {
  let server: Server;
  let base: string;
  let connections = 0;
  const client = new HttpClient('test');

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/slow') {
        setTimeout(() => res.end('{}'), 500);
        return;
      }
      if (req.url === '/drop') {
        req.socket.destroy();
        return;
      }
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.setHeader('retry-after', '7');
        res.end(JSON.stringify({ method: req.method, key: req.headers['idempotency-key'] ?? null, body }));
      });
    });
    server.on('connection', () => (connections += 1));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await client.close();
    await new Promise<void>((ok) => server.close(() => ok()));
  });

  it('sends JSON with the idempotency key and reads status, headers and body', async () => {
    const res = await client.request<{ method: string; key: string; body: string }>({
      method: 'POST',
      url: `${base}/echo`,
      body: { amount: 999 },
      idempotencyKey: 'k-1',
      timeoutMs: 2_000,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('Retry-After')).toBe('7');
    expect(res.headers.get('x-missing')).toBeNull();
    expect(res.body).toEqual({ method: 'POST', key: 'k-1', body: '{"amount":999}' });
  });

  it('keeps connections alive: sequential calls reuse one connection', async () => {
    const before = connections;
    for (let i = 0; i < 20; i += 1) {
      await client.request({ method: 'GET', url: `${base}/echo`, timeoutMs: 2_000 });
    }
    expect(connections - before).toBeLessThanOrEqual(1);
  });

  it('a call without an answer in time is a timeout (outcome unknown)', async () => {
    await expect(
      client.request({ method: 'POST', url: `${base}/slow`, timeoutMs: 100 }),
    ).rejects.toBeInstanceOf(HttpTimeoutError);
  });

  it('a refused connection was never sent; a dropped one may have been', async () => {
    const refused = client.request({ method: 'POST', url: 'http://127.0.0.1:1/x', timeoutMs: 1_000 });
    await expect(refused).rejects.toBeInstanceOf(HttpNetworkError);
    await expect(refused).rejects.toMatchObject({ notSent: true });
    const dropped = client.request({ method: 'POST', url: `${base}/drop`, body: {}, timeoutMs: 1_000 });
    await expect(dropped).rejects.toBeInstanceOf(HttpNetworkError);
    await expect(dropped).rejects.toMatchObject({ notSent: false });
  });
});

describe('pathOf (the logged path of a call)', () => {
  it('is the path without the query, origin left out', () => {
    expect(pathOf('http://127.0.0.1:4100/sandbox/cleverbridge/cart/processcart')).toBe(
      '/sandbox/cleverbridge/cart/processcart',
    );
    expect(pathOf('https://api.example.com/v1/payments?token=secret')).toBe('/v1/payments');
    expect(pathOf('https://api.example.com')).toBe('/');
    expect(pathOf('https://api.example.com?x=1')).toBe('/');
  });
});
