import type { INestApplication } from '@nestjs/common';
import { createServer, request as httpRequest, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SANDBOX_SECRETS } from './sandbox-settings';
import { cardPaymentRequest } from './adyen/adyen-test-requests';
import { createStandaloneSandbox } from './standalone';

interface Answer {
  status: number;
  body: unknown;
  /** Express's signature header: which path answered */
  poweredBy?: string | string[] | undefined;
  /** Adyen's echo of the request's key */
  idempotencyKey?: string | string[] | undefined;
}

const PROCESS_CART = '/sandbox/cleverbridge/cart/processcart';
const API_AUTH = `Basic ${Buffer.from(
  `${SANDBOX_SECRETS.cleverbridgeUsername}:${SANDBOX_SECRETS.cleverbridgePassword}`,
).toString('base64')}`;

/**
 * The standalone emulators answer the routes the benchmarks hammer (ProcessCart, Adyen Checkout, Cleeng's
 * orders and reports) ahead of Express (bare-json-route.ts) when a request is plain; a chunked one (no declared
 * length) still goes through Express and the Nest route. Both must answer alike.
 */
describe('standalone emulators: vendor routes ahead of Express', () => {
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
    method = 'POST',
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        `${base}${path}`,
        {
          method,
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
              ...(res.headers['idempotency-key'] ? { idempotencyKey: res.headers['idempotency-key'] } : {}),
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

  const ADYEN = '/sandbox/adyen/v71';
  const ADYEN_AUTH = { 'x-api-key': SANDBOX_SECRETS.adyenApiKey };
  const payment = (reference: string): string => JSON.stringify(cardPaymentRequest(reference));

  /** Adyen's references and authorisation codes differ between two payments; everything else must not. */
  function adyenShape(value: unknown): unknown {
    return JSON.parse(
      JSON.stringify(value).replace(/"(pspReference|paymentPspReference|authCode)":"[^"]*"/g, '"$1":"…"'),
    );
  }

  async function requestLog(system: 'adyen' | 'cleeng'): Promise<unknown[]> {
    const res = await fetch(`${base}/sandbox/${system}/requests`);
    return (await res.json()) as unknown[];
  }

  it('Adyen: an authorisation, its capture (a path parameter) and a replay answer alike on both paths', async () => {
    const answers: Answer[] = [];
    for (const chunked of [false, true]) {
      const key = `auth-${String(chunked)}`;
      const authorised = await post(
        `${ADYEN}/payments`,
        payment(key),
        { ...ADYEN_AUTH, 'idempotency-key': key },
        chunked,
      );
      expect(authorised.poweredBy).toBe(chunked ? 'Express' : undefined);
      expect(authorised).toMatchObject({
        status: 200,
        idempotencyKey: key,
        body: { resultCode: 'Authorised' },
      });
      const psp = (authorised.body as { pspReference: string }).pspReference;
      const capture = JSON.stringify({
        merchantAccount: SANDBOX_SECRETS.adyenMerchantAccount,
        amount: { value: 1500, currency: 'USD' },
        reference: key,
      });
      const captured = await post(
        `${ADYEN}/payments/${psp}/captures`,
        capture,
        { ...ADYEN_AUTH, 'idempotency-key': `${key}:capture` },
        chunked,
      );
      expect(captured).toMatchObject({ status: 201, body: { paymentPspReference: psp, status: 'received' } });
      // the same key and body again: the stored answer, not a second payment
      const replayed = await post(
        `${ADYEN}/payments`,
        payment(key),
        { ...ADYEN_AUTH, 'idempotency-key': key },
        chunked,
      );
      expect(replayed.body).toEqual(authorised.body);
      answers.push(authorised, captured);
      expect((await requestLog('adyen')).slice(-3)).toMatchObject([
        { method: 'POST', path: '/payments', status: 200, idempotencyKey: key },
        { method: 'POST', path: `/payments/${psp}/captures`, status: 201 },
        { method: 'POST', path: '/payments', status: 200, idempotencyKey: key },
      ]);
    }
    const [bareAuth, bareCapture, expressAuth, expressCapture] = answers.map((a) => {
      const { poweredBy: _p, idempotencyKey: _k, ...rest } = a;
      return adyenShape(rest);
    });
    expect(bareAuth).toEqual(JSON.parse(JSON.stringify(expressAuth).replace(/auth-true/g, 'auth-false')));
    expect(bareCapture).toEqual(
      JSON.parse(JSON.stringify(expressCapture).replace(/auth-true/g, 'auth-false')),
    );
  });

  it('Adyen: a wrong API key and a body the spec refuses are answered alike on both paths', async () => {
    for (const chunked of [false, true]) {
      const unauthorised = await post(`${ADYEN}/payments`, payment('x'), { 'x-api-key': 'wrong' }, chunked);
      expect({ ...unauthorised, poweredBy: undefined }).toEqual({
        status: 401,
        body: {
          status: 401,
          errorCode: '000',
          message: 'HTTP Status Response - Unauthorized',
          errorType: 'security',
        },
        poweredBy: undefined,
      });
      const invalid = await post(
        `${ADYEN}/payments`,
        JSON.stringify({ reference: 'x' }),
        ADYEN_AUTH,
        chunked,
      );
      expect(invalid.status).toBe(422);
      expect(invalid.body).toMatchObject({ status: 422, errorType: 'validation' });
    }
  });

  const CLEENG = '/sandbox/cleeng/3.1';
  const CLEENG_AUTH = { 'x-publisher-token': SANDBOX_SECRETS.cleengPublisherToken };
  const ORDER = JSON.stringify({
    customerId: 927751142,
    offerId: 'S100000001_US',
    currency: 'USD',
    country: 'US',
    paymentMethodId: 101,
  });

  it("Cleeng: an order, its payment and the payment's update answer alike on both paths", async () => {
    for (const chunked of [false, true]) {
      const ordered = await post(
        `${CLEENG}/orders`,
        ORDER,
        { ...CLEENG_AUTH, 'idempotency-key': `order-${String(chunked)}` },
        chunked,
      );
      expect(ordered.poweredBy).toBe(chunked ? 'Express' : undefined);
      expect(ordered).toMatchObject({
        status: 200,
        body: { success: true, order: { totalPrice: 9.99, currency: 'USD' } },
      });
      const orderId = (ordered.body as { order: { id: number } }).order.id;
      const reported = await post(
        `${CLEENG}/payments`,
        JSON.stringify({
          orderId,
          status: 'authorised',
          paymentOperation: 'initial-payment',
          externalPaymentId: `psp-${String(chunked)}`,
          paymentDetails: { token: 'tok' },
        }),
        CLEENG_AUTH,
        chunked,
      );
      expect(reported).toMatchObject({ status: 200, body: { success: true } });
      const paymentId = (reported.body as { payment: { id: number | string } }).payment.id;
      const updated = await post(
        `${CLEENG}/payments/${encodeURIComponent(String(paymentId))}`,
        JSON.stringify({ status: 'captured' }),
        CLEENG_AUTH,
        chunked,
        'PATCH',
      );
      expect(updated).toMatchObject({ status: 200, body: { success: true } });
      expect((await requestLog('cleeng')).slice(-3)).toMatchObject([
        { method: 'POST', path: `${CLEENG}/orders`, status: 200, idempotencyKey: `order-${String(chunked)}` },
        { method: 'POST', path: `${CLEENG}/payments`, status: 200 },
        { method: 'PATCH', path: `${CLEENG}/payments/${String(paymentId)}`, status: 200 },
      ]);
    }
  });

  it('Cleeng: no token, an unknown payment and a reused key with another body are refused alike on both paths', async () => {
    for (const chunked of [false, true]) {
      expect(await post(`${CLEENG}/orders`, ORDER, {}, chunked)).toMatchObject({
        status: 401,
        body: { success: false, message: 'Invalid or missing X-Publisher-Token' },
      });
      const unknown = await post(
        `${CLEENG}/payments/999999`,
        JSON.stringify({ status: 'captured' }),
        CLEENG_AUTH,
        chunked,
        'PATCH',
      );
      expect(unknown.status).toBe(404);
      expect(unknown.body).toMatchObject({ success: false });
      const key = { ...CLEENG_AUTH, 'idempotency-key': `reused-${String(chunked)}` };
      expect((await post(`${CLEENG}/orders`, ORDER, key, chunked)).status).toBe(200);
      const other = JSON.stringify({ ...(JSON.parse(ORDER) as object), country: 'GB', currency: 'GBP' });
      expect(await post(`${CLEENG}/orders`, other, key, chunked)).toMatchObject({
        status: 409,
        body: {
          success: false,
          message: `Idempotency-Key reused-${String(chunked)} was already used with a different request`,
        },
      });
    }
  });

  it('a query string or a body that is not a JSON object goes to Express', async () => {
    const withQuery = await post(`${CLEENG}/orders?x=1`, ORDER, CLEENG_AUTH);
    expect(withQuery).toMatchObject({ status: 200, poweredBy: 'Express' });
    const scalar = await post(`${ADYEN}/payments`, '123', ADYEN_AUTH);
    expect(scalar.poweredBy).toBe('Express');
    expect(scalar.status).toBeGreaterThanOrEqual(400);
    expect(scalar.status).toBeLessThan(500);
  });
});
