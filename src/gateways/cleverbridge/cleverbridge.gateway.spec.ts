import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { Clock } from '../../common/clock/clock';
import { Money } from '../../common/money/money';
import {
  GatewayOperationUnsupportedError,
  GatewayOutcomeUnknownError,
  GatewayRequestRejectedError,
  GatewayUnavailableError,
} from '../gateway.errors';
import { ProcessCartInput } from '../gateway.provider';
import { WebhookMalformedError, WebhookUnauthenticatedError } from '../../inbox/webhook.errors';
import { CleverbridgeValidationError } from './cleverbridge.errors';
import { CleverbridgeGateway } from './cleverbridge.gateway';
import { CleverbridgeOptions } from './cleverbridge.options';
import { capabilityMismatches, requireOperation } from '../gateway-operations';

const NOW = new Date('2025-03-01T12:00:00.000Z');

class FixedClock extends Clock {
  now(): Date {
    return new Date(NOW);
  }
}

interface Captured {
  method?: string;
  url?: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

type Handler = (captured: Captured, res: ServerResponse) => void;

describe('CleverbridgeGateway (HTTP)', () => {
  let server: Server;
  let baseUrl: string;
  let handler: Handler;
  let captured: Captured[];
  const hanging = new Set<ServerResponse>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const entry = {
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: text ? (JSON.parse(text) as unknown) : undefined,
        };
        captured.push(entry);
        handler(entry, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sandbox/cleverbridge/`;
  });

  afterAll(async () => {
    for (const res of hanging) {
      res.destroy();
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    captured = [];
  });

  function gateway(overrides: Partial<CleverbridgeOptions> = {}): CleverbridgeGateway {
    const options: CleverbridgeOptions = {
      apiUrl: baseUrl,
      username: 'api-user',
      password: 'api-pass',
      notifyUsername: 'notify-user',
      notifyPassword: 'notify-pass',
      defaultLanguageId: 'en',
      ...overrides,
    };
    return new CleverbridgeGateway({ gatewayTimeoutMs: 300 }, options, new FixedClock());
  }

  function reply(status: number, body: unknown): Handler {
    return (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
  }

  const purchase: ProcessCartInput = {
    idempotencyKey: 'att_1',
    reference: 'pay_1',
    customer: { customerReferenceId: 'cust-1' },
    items: [{ productId: '200001', quantity: 1 }],
    mode: 'interactive',
  };

  it('posts the cart to /cart/processcart with Basic auth and maps Paid', async () => {
    handler = reply(200, { status: 'Paid', purchaseId: '500000001', isPaymentRetryScheduled: false });
    await expect(gateway().processCart(purchase)).resolves.toEqual({
      status: 'captured',
      externalPaymentId: '500000001',
    });
    expect(captured).toHaveLength(1);
    const [call] = captured;
    expect(call?.method).toBe('POST');
    expect(call?.url).toBe('/sandbox/cleverbridge/cart/processcart');
    expect(call?.headers.authorization).toBe(`Basic ${Buffer.from('api-user:api-pass').toString('base64')}`);
    expect(call?.headers['content-type']).toBe('application/json');
    expect(call?.headers.accept).toBe('application/json');
    expect(call?.body).toMatchObject({
      processCartRequest: { cart: { customerReferenceId: 'cust-1' }, processCartMode: 'Interactive' },
    });
  });

  it('lookupCall lists purchases around the call (GET /purchase/getpurchaselist, Basic auth) and finds ours', async () => {
    handler = reply(200, {
      purchases: [
        {
          purchaseId: 500000009,
          status: 'Paid',
          extraParameters: { extraParameter: [{ key: 'x-connector-attempt', value: 'att_1' }] },
        },
      ],
    });
    const sentAfter = new Date('2025-03-01T11:00:00.000Z');
    await expect(gateway().lookupCall({ idempotencyKey: 'att_1', sentAfter })).resolves.toEqual({
      kind: 'found',
      result: { status: 'captured', externalPaymentId: '500000009' },
    });
    const [call] = captured;
    expect(call?.method).toBe('GET');
    const url = new URL(call?.url ?? '', 'http://x');
    expect(url.pathname).toBe('/sandbox/cleverbridge/purchase/getpurchaselist');
    expect(url.searchParams.get('startdatetime')).toBe('2025-03-01T10:00:00.000Z');
    expect(url.searchParams.get('enddatetime')).toBe('2025-03-01T13:00:00.000Z');
    expect(call?.headers.authorization).toBe(`Basic ${Buffer.from('api-user:api-pass').toString('base64')}`);
    handler = reply(500, { status: 'InternalServerError' });
    await expect(gateway().lookupCall({ idempotencyKey: 'att_1', sentAfter })).rejects.toBeInstanceOf(
      GatewayUnavailableError,
    );
  });

  it('declares ProcessCart (and so rebill) as having no idempotency key', () => {
    expect(gateway().unkeyedOperations).toEqual(['rebill', 'processCart']);
  });

  it('sets actionExpiresAt from the injected clock', async () => {
    handler = reply(200, { status: 'CustomerActionNeeded', url: 'https://x/checkout/1' });
    await expect(gateway().processCart(purchase)).resolves.toMatchObject({
      status: 'action_required',
      actionExpiresAt: new Date('2025-03-04T12:00:00.000Z'),
    });
  });

  it('rebills the subscription non-interactively and maps a scheduled-retry decline', async () => {
    handler = reply(200, {
      status: 'Pending',
      purchaseId: '500000002',
      url: 'https://x/checkout/2',
      paymentResult: { code: 'PAY_CLE', message: 'Credit card limit exceeded' },
      isPaymentRetryScheduled: true,
    });
    const result = await gateway().rebill({
      idempotencyKey: 'att_r1',
      reference: 'pay_r1',
      amount: Money.of(999, 'USD'),
      customer: { reference: 'cust-1' },
      externalSubscriptionId: 'S9000001',
      productId: '100001',
      periodStart: new Date('2025-04-01T00:00:00.000Z'),
    });
    expect(result).toMatchObject({
      status: 'rejected',
      externalPaymentId: '500000002',
      decline: { code: 'PAY_CLE', class: 'soft' },
      retryScheduled: true,
    });
    expect(captured[0]?.body).toEqual({
      processCartRequest: {
        cart: {
          items: [{ productId: '100001', quantity: 1, dynamicPrice: { amount: 9.99, currencyId: 'USD' } }],
        },
        extraParameters: {
          extraParameter: [
            { key: 'x-connector-period', value: '2025-04-01' },
            { key: 'x-connector-attempt', value: 'att_r1' },
            { key: 'x-connector-reference', value: 'pay_r1' },
          ],
        },
        defaultLanguageId: 'en',
        processCartMode: 'NonInteractive',
        subscription: { subscriptionId: 'S9000001' },
      },
    });
  });

  it("rebills in the subscription's language when it has one, else the deployment default", async () => {
    handler = reply(200, { status: 'Paid', purchaseId: '500000003', isPaymentRetryScheduled: false });
    const rebill = {
      idempotencyKey: 'att_r2',
      reference: 'pay_r2',
      amount: Money.of(999, 'USD'),
      customer: { reference: 'cust-1' },
      externalSubscriptionId: 'S9000001',
      productId: '100001',
      periodStart: new Date('2025-04-01T00:00:00.000Z'),
    };
    await gateway({ defaultLanguageId: 'fr' }).rebill({ ...rebill, defaultLanguageId: 'de' });
    await gateway({ defaultLanguageId: 'fr' }).rebill(rebill);
    expect(
      captured.map(
        (c) =>
          (c.body as { processCartRequest: { defaultLanguageId?: string } }).processCartRequest
            .defaultLanguageId,
      ),
    ).toEqual(['de', 'fr']);
  });

  it('never calls Cleverbridge with an invalid cart', async () => {
    await expect(
      gateway().processCart({ ...purchase, extraParameters: { customerid: '51254' } }),
    ).rejects.toBeInstanceOf(CleverbridgeValidationError);
    expect(captured).toHaveLength(0);
  });

  it('400 InvalidRequest -> GatewayRequestRejectedError; 500 -> GatewayUnavailableError (outcome open)', async () => {
    handler = reply(400, { status: 'InvalidRequest', error: { code: 'PRODUCT_NOT_FOUND', message: 'nope' } });
    const rejected = await gateway()
      .processCart(purchase)
      .catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(GatewayRequestRejectedError);
    expect(rejected).toMatchObject({ httpStatus: 400, gatewayCode: 'PRODUCT_NOT_FOUND' });
    handler = reply(500, { status: 'InternalServerError' });
    const err = await gateway()
      .processCart(purchase)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayUnavailableError);
    expect(err).toMatchObject({ notProcessed: false, httpStatus: 500 });
  });

  it('a timeout is an unknown outcome', async () => {
    handler = (_req, res) => {
      hanging.add(res);
    };
    await expect(gateway().processCart(purchase)).rejects.toBeInstanceOf(GatewayOutcomeUnknownError);
  });

  it('connection refused is unavailable and certainly not processed', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await gateway({ apiUrl: `http://127.0.0.1:${port}` })
      .processCart(purchase)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayUnavailableError);
    expect(err).toMatchObject({ notProcessed: true });
  });

  it('offers no card-gateway operations, and its capabilities say so', () => {
    const g = gateway();
    for (const operation of ['authorise', 'charge', 'capture', 'refund', 'cancel', 'tokenise'] as const) {
      expect(() => requireOperation(g, operation)).toThrow(
        new GatewayOperationUnsupportedError('cleverbridge', operation),
      );
    }
    expect(g.id).toBe('cleverbridge');
    expect(g.capabilities).toMatchObject({
      connectorManagedRebill: true,
      separateCapture: false,
      partialRefund: false,
    });
    expect(capabilityMismatches(g)).toEqual([]);
  });

  it("validates subscriptions: the product to rebill, x-parameter keys, none of the connector's", () => {
    const g = gateway();
    expect(
      g.validateSubscription({ productId: '1', hasStoredToken: false, extraParameters: { 'x-a': '1' } }),
    ).toEqual([]);
    const errors = g.validateSubscription({
      hasStoredToken: false,
      extraParameters: { customerid: '1', 'x-connector-period': '2030-01' },
    });
    expect(errors.map((e) => e.field)).toEqual(['productId', 'extraParameters']);
    expect(errors[1]?.messages.join(' ')).toMatch(/keys must start with "x-".*set by the connector/);
  });

  it('parseWebhook checks Basic auth before it reads the body', () => {
    const g = gateway();
    const good = { authorization: `Basic ${Buffer.from('notify-user:notify-pass').toString('base64')}` };
    const bad = { authorization: `Basic ${Buffer.from('notify-user:wrong').toString('base64')}` };
    expect(() => g.parseWebhook(bad, Buffer.from('{not json'))).toThrow(WebhookUnauthenticatedError);
    expect(() => g.parseWebhook(good, Buffer.from('{not json'))).toThrow(WebhookMalformedError);
    expect(
      g.parseWebhook(
        good,
        Buffer.from(JSON.stringify({ meta: { type: 'PaidOrderNotification' }, purchase: { id: '1' } })),
      ),
    ).toEqual([
      {
        type: 'payment.paid',
        rawType: 'PaidOrderNotification',
        eventKey: 'PaidOrderNotification:1',
        externalPaymentId: '1',
        extraParameters: {},
      },
    ]);
  });
});
