import type { INestApplication } from '@nestjs/common';
import { createServer, request as httpRequest, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SANDBOX_SECRETS } from './sandbox-settings';
import { createStandaloneSandbox } from './standalone';

interface Answer {
  status: number;
  body: unknown;
  /** Express's signature header: which path answered */
  poweredBy?: string | string[] | undefined;
}

const PROCESS_CART = '/sandbox/cleverbridge/cart/processcart';
const API_AUTH = `Basic ${Buffer.from(
  `${SANDBOX_SECRETS.cleverbridgeUsername}:${SANDBOX_SECRETS.cleverbridgePassword}`,
).toString('base64')}`;

/**
 * The standalone emulators answer ProcessCart ahead of Express (bare-json-route.ts) when a request is plain; a
 * chunked one (no declared length) still goes through Express and the Nest route. Both must answer alike.
 */
describe('standalone emulators: ProcessCart ahead of Express', () => {
  let sandbox: INestApplication;
  let receiver: Server;
  let base: string;

  beforeAll(async () => {
    // the app's stand-in, for any notification
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200).end('{}'));
    });
    await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
    const appUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    sandbox = await createStandaloneSandbox({ SANDBOX_CLEVERBRIDGE_REQUESTS_PER_SECOND: '1000' }, appUrl);
    await sandbox.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${((sandbox.getHttpServer() as Server).address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await sandbox.close();
    await new Promise((ok) => receiver.close(ok));
  });

  /** `chunked`: no Content-Length, which the bare route leaves to Express. */
  function post(
    path: string,
    body: string,
    headers: Record<string, string>,
    chunked = false,
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        `${base}${path}`,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...headers,
            ...(chunked
              ? { 'transfer-encoding': 'chunked' }
              : { 'content-length': String(Buffer.byteLength(body)) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: res.statusCode ?? 0,
              body: text ? (JSON.parse(text) as unknown) : null,
              ...(res.headers['x-powered-by'] ? { poweredBy: res.headers['x-powered-by'] } : {}),
            });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  const cart = (customer: string): string =>
    JSON.stringify({
      processCartRequest: { cart: { items: [{ productId: '100001' }], customerReferenceId: customer } },
    });

  /** Ids differ between two carts; everything else must not. */
  function shape(value: unknown): unknown {
    return JSON.parse(
      JSON.stringify(value).replace(/"(\w*[iI]d|\w*[uU]rl)":"[^"]*"/g, (_m, key: string) => `"${key}":"…"`),
    );
  }

  it('a plain cart is processed like one sent through Express', async () => {
    const bare = await post(PROCESS_CART, cart('bare'), { authorization: API_AUTH });
    const viaExpress = await post(PROCESS_CART, cart('express'), { authorization: API_AUTH }, true);
    expect(bare.poweredBy).toBeUndefined(); // answered ahead of Express
    expect(viaExpress.poweredBy).toBe('Express');
    expect(bare.status).toBe(viaExpress.status);
    expect(bare.status).toBeGreaterThanOrEqual(200);
    expect(bare.status).toBeLessThan(300);
    expect(shape(bare.body)).toEqual(shape(viaExpress.body));
    const log = await fetch(`${base}/sandbox/cleverbridge/requests`).then(
      (r) => r.json() as Promise<unknown[]>,
    );
    expect(log.slice(-2)).toMatchObject([
      { method: 'POST', path: PROCESS_CART, status: bare.status },
      { method: 'POST', path: PROCESS_CART, status: viaExpress.status },
    ]);
  });

  it('refuses bad credentials and a bad cart the same on both paths', async () => {
    for (const chunked of [false, true]) {
      expect(await post(PROCESS_CART, cart('c'), {}, chunked)).toEqual({
        ...(chunked ? { poweredBy: 'Express' } : {}),
        status: 401,
        body: {
          status: 'Unauthorized',
          error: { code: 'UNAUTHORIZED', message: 'invalid API user credentials' },
        },
      });
      const unknownElement = JSON.stringify({
        processCartRequest: {
          cart: { items: [{ productId: '100001', colour: 'red' }], customerReferenceId: 'c' },
        },
      });
      expect(await post(PROCESS_CART, unknownElement, { authorization: API_AUTH }, chunked)).toEqual({
        ...(chunked ? { poweredBy: 'Express' } : {}),
        status: 400,
        body: {
          status: 'InvalidRequest',
          error: {
            code: 'INVALID_ELEMENT',
            message: 'unknown element processCartRequest.cart.items[0].colour',
          },
        },
      });
    }
  });

  it('a body that is not JSON is refused with 400 by the Nest route, and other routes stay on Express', async () => {
    const answer = await post(PROCESS_CART, '{"processCartRequest":', { authorization: API_AUTH });
    expect(answer.status).toBe(400);
    expect(answer.poweredBy).toBe('Express');
    expect(answer.body).toMatchObject({ status: 'InvalidRequest' });
    const faults = await fetch(`${base}/sandbox/faults`);
    expect(faults.status).toBe(200);
  });
});
