import {
  CLEVERBRIDGE_OPTIONS,
  CleverbridgeOptions,
} from '../../src/gateways/cleverbridge/cleverbridge.options';
import type { AppConfig } from '../../src/config/app-config';
import { Controller, Global, HttpCode, INestApplication, Module, Post, Req, Res } from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Request, Response } from 'express';
import type { Server } from 'node:http';
import { AddressInfo } from 'node:net';
import request from 'supertest';
import type { App } from 'supertest/types';
import { Clock } from '../../src/common/clock/clock';
import { HttpExceptionFilter } from '../../src/common/errors/http-exception.filter';
import { createValidationPipe } from '../../src/common/errors/validation';
import { Money } from '../../src/common/money/money';
import { APP_CONFIG } from '../../src/config/app-config';
import { loadConfig } from '../../src/config/config.factory';
import { CleverbridgeGateway } from '../../src/gateways/cleverbridge/cleverbridge.gateway';
import { CleverbridgeEvent } from '../../src/gateways/cleverbridge/cleverbridge.mapper';
import { GatewayRequestRejectedError, GatewayUnavailableError } from '../../src/gateways/gateway.errors';
import { ProcessCartInput, RebillInput } from '../../src/gateways/gateway.provider';
import { SandboxClockController } from '../../sandbox/clock/sandbox-clock.controller';
import { SandboxClockService } from '../../sandbox/clock/sandbox-clock.service';
import { SandboxFaults } from '../../sandbox/faults/sandbox-faults';
import { SandboxCoreModule } from '../../sandbox/sandbox-core.module';
import { sandboxEnv, sandboxSettings } from '../../sandbox/sandbox-settings';
import { CleverbridgeNotifier } from '../../sandbox/cleverbridge/cleverbridge-notifier';
import { CleverbridgeSandboxModule } from '../../sandbox/cleverbridge/cleverbridge-sandbox.module';
import { CleverbridgeSandboxStore } from '../../sandbox/cleverbridge/cleverbridge-sandbox.store';

const SANDBOX_ENV = sandboxEnv({ publicUrl: 'http://127.0.0.1:1' /* set after listen */, dataDir: 'unused' });
const config: AppConfig = {
  ...loadConfig({ ...SANDBOX_ENV, NODE_ENV: 'test', ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') }),
  gatewayTimeoutMs: 1_000,
};
const options: CleverbridgeOptions = {
  apiUrl: 'set-after-listen',
  username: 'sandbox-cleverbridge-user',
  password: 'sandbox-cleverbridge-password',
  notifyUsername: 'sandbox-cleverbridge-notify',
  notifyPassword: 'sandbox-cleverbridge-notify-password',
  defaultLanguageId: 'en',
};

/** The emulator's view: the same Cleverbridge users as the gateway's config. */
const sandboxClock = new SandboxClockService();
const settings = sandboxSettings(SANDBOX_ENV, 'set-after-listen');

/** Stand-in for the app's `/webhooks/cleverbridge`: verifies with the real gateway and keeps the events. */
@Controller('webhooks')
class WebhookSink {
  static events: CleverbridgeEvent[] = [];
  static failNext = 0;

  constructor(private readonly gateway: CleverbridgeGateway) {}

  @Post('cleverbridge')
  @HttpCode(200)
  receive(@Req() req: RawBodyRequest<Request>, @Res({ passthrough: true }) res: Response): { ok: boolean } {
    if (WebhookSink.failNext > 0) {
      WebhookSink.failNext -= 1;
      res.status(503);
      return { ok: false };
    }
    WebhookSink.events.push(...this.gateway.parseWebhook(req.headers, req.rawBody ?? Buffer.alloc(0)));
    return { ok: true };
  }
}

@Global()
@Module({
  providers: [
    { provide: APP_CONFIG, useValue: config },
    { provide: CLEVERBRIDGE_OPTIONS, useValue: options },
    // one time source for both sides, as in the app with SANDBOX=true
    { provide: Clock, useValue: sandboxClock },
    CleverbridgeGateway,
  ],
  exports: [APP_CONFIG, Clock, CleverbridgeGateway],
})
class HostModule {}

const auth = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const API_AUTH = auth(options.username, options.password);

describe('Cleverbridge sandbox (HTTP, with the real gateway and notifications)', () => {
  let app: INestApplication<App>;
  let gateway: CleverbridgeGateway;
  let faults: SandboxFaults;
  let notifier: CleverbridgeNotifier;
  let store: CleverbridgeSandboxStore;
  let n = 0;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [HostModule, SandboxCoreModule.forRoot(settings, sandboxClock), CleverbridgeSandboxModule],
      controllers: [WebhookSink, SandboxClockController],
    }).compile();
    app = moduleRef.createNestApplication({ rawBody: true, logger: false });
    app.useGlobalPipes(createValidationPipe());
    app.useGlobalFilters(new HttpExceptionFilter());
    await app.listen(0, '127.0.0.1');
    const port = ((app.getHttpServer() as unknown as Server).address() as AddressInfo).port;
    config.publicUrl = `http://127.0.0.1:${port}`;
    options.apiUrl = `${config.publicUrl}/sandbox/cleverbridge`;
    settings.publicUrl = config.publicUrl;
    gateway = app.get(CleverbridgeGateway);
    faults = app.get(SandboxFaults);
    notifier = app.get(CleverbridgeNotifier);
    store = app.get(CleverbridgeSandboxStore);
    notifier.dispatcher.retryDelaysMs = [20, 20];
    notifier.dispatcher.initialDelayMs = 0;
  });

  afterAll(async () => {
    await notifier.idle(5_000);
    await app.close();
  });

  beforeEach(async () => {
    faults.clear();
    WebhookSink.events = [];
    WebhookSink.failNext = 0;
    await request(app.getHttpServer()).post('/sandbox/cleverbridge/reset').expect(200, { success: true });
    store.useDeterministicIds();
  });

  async function delivered(): Promise<void> {
    expect(await notifier.idle(5_000)).toEqual({ idle: true, held: 0 });
  }

  function purchase(overrides: Partial<ProcessCartInput> = {}): ProcessCartInput {
    n += 1;
    return {
      idempotencyKey: `att_${n}`,
      reference: `pay_${n}`,
      customer: { customerReferenceId: 'cust-1' },
      items: [{ productId: '100001', quantity: 1 }],
      mode: 'interactive',
      ...overrides,
    };
  }

  function rebill(subscriptionId: string, overrides: Partial<RebillInput> = {}): RebillInput {
    n += 1;
    return {
      idempotencyKey: `att_${n}`,
      reference: `pay_${n}`,
      amount: Money.of(999, 'USD'),
      customer: { reference: 'cust-1' },
      externalSubscriptionId: subscriptionId,
      productId: '100001',
      periodStart: new Date('2025-04-01T00:00:00.000Z'),
      ...overrides,
    };
  }

  it('refuses ProcessCart without the API user credentials', async () => {
    const body = {
      processCartRequest: { cart: { items: [{ productId: '100001' }], customerReferenceId: 'c' } },
    };
    await request(app.getHttpServer())
      .post('/sandbox/cleverbridge/cart/processcart')
      .send(body)
      .expect(401, {
        status: 'Unauthorized',
        error: { code: 'UNAUTHORIZED', message: 'invalid API user credentials' },
      });
    await request(app.getHttpServer())
      .post('/sandbox/cleverbridge/cart/processcart')
      .set('Authorization', auth(options.username, 'wrong'))
      .send(body)
      .expect(401);
    await request(app.getHttpServer())
      .post('/sandbox/cleverbridge/cart/processcart')
      .set('Authorization', API_AUTH)
      .send({
        processCartRequest: {
          cart: { items: [{ productId: '100001', colour: 'red' }], customerReferenceId: 'c' },
        },
      })
      .expect(400, {
        status: 'InvalidRequest',
        error: {
          code: 'INVALID_ELEMENT',
          message: 'unknown element processCartRequest.cart.items[0].colour',
        },
      });
    expect((await request(app.getHttpServer()).get('/sandbox/cleverbridge/requests')).body).toMatchObject([
      { status: 401 },
      { status: 401 },
      { status: 400 },
    ]);
  });

  it('a paid purchase notifies the app, which verifies and parses it with the gateway', async () => {
    const result = await gateway.processCart(purchase({ extraParameters: { 'x-campaign': 'spring' } }));
    expect(result).toEqual({
      status: 'captured',
      externalPaymentId: '500000001',
      state: { subscriptionId: 'S9000001' },
    });
    await delivered();
    expect(WebhookSink.events).toEqual([
      {
        type: 'payment.paid',
        rawType: 'PaidOrderNotification',
        eventKey: 'PaidOrderNotification:500000001',
        externalPaymentId: '500000001',
        externalSubscriptionId: 'S9000001',
        amount: { value: 999, currency: 'USD' },
        extraParameters: {
          'x-campaign': 'spring',
          'x-connector-attempt': `att_${n}`,
          'x-connector-reference': `pay_${n}`,
        },
        attemptKey: `att_${n}`,
        paymentReference: `pay_${n}`,
        reference: `pay_${n}`,
        occurredAt: expect.any(String),
      },
    ]);
    expect((await request(app.getHttpServer()).get('/sandbox/cleverbridge/webhooks')).body).toMatchObject([
      {
        notificationId: 'N1',
        type: 'PaidOrderNotification',
        purchaseId: '500000001',
        subscriptionId: 'S9000001',
        state: 'delivered',
        attempts: 1,
        lastStatus: 200,
      },
    ]);
  });

  it('rebilling an unknown subscription is a rejected request, never a new subscription', async () => {
    const err = await gateway.rebill(rebill('S404')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayRequestRejectedError);
    expect(err).toMatchObject({ httpStatus: 400, gatewayCode: 'SUBSCRIPTION_NOT_FOUND' });
    expect((await request(app.getHttpServer()).get('/sandbox/cleverbridge/subscriptions')).body).toEqual([]);
  });

  it('a rebill whose answer was lost is found by lookupCall (getpurchaselist), never sent twice', async () => {
    const sentAfter = new Date(Date.now() - 1000);
    await gateway.processCart(purchase());
    await delivered();
    const period = rebill('S9000001');
    expect(await gateway.lookupCall({ idempotencyKey: period.idempotencyKey, sentAfter })).toEqual({
      kind: 'not_found',
    });
    faults.set('cleverbridge', { failAfterNext: 1 });
    const lost = await gateway.rebill(period).catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(GatewayUnavailableError);
    expect(lost).toMatchObject({ notProcessed: false, httpStatus: 500 });

    expect(await gateway.lookupCall({ idempotencyKey: period.idempotencyKey, sentAfter })).toEqual({
      kind: 'found',
      result: { status: 'captured', externalPaymentId: '500000002' },
    });
    const ledger = await request(app.getHttpServer())
      .get('/sandbox/cleverbridge/ledger')
      .query({ subscriptionId: 'S9000001', attempt: period.idempotencyKey })
      .expect(200);
    expect(ledger.body).toMatchObject({
      purchases: [{ purchaseId: '500000002', rebill: true, period: '2025-04-01', total: { value: 999 } }],
      calls: 2,
    });
    await delivered();
    expect(WebhookSink.events.map((e) => e.externalPaymentId)).toEqual(['500000001', '500000002']);
  });

  it('getpurchaselist needs the API user and a time window', async () => {
    await request(app.getHttpServer())
      .get('/sandbox/cleverbridge/purchase/getpurchaselist')
      .query({ startdatetime: '2025-01-01T00:00:00Z', enddatetime: '2025-01-02T00:00:00Z' })
      .expect(401);
    await request(app.getHttpServer())
      .get('/sandbox/cleverbridge/purchase/getpurchaselist')
      .set('Authorization', API_AUTH)
      .query({ startdatetime: 'yesterday' })
      .expect(400);
  });

  it('injected 5xx is GatewayUnavailableError with the outcome open', async () => {
    faults.set('cleverbridge', { failNext: 1, failStatus: 500 });
    const err = await gateway.processCart(purchase()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayUnavailableError);
    expect(err).toMatchObject({ notProcessed: false, httpStatus: 500 });
    expect((await request(app.getHttpServer()).get('/sandbox/cleverbridge/ledger')).body.purchases).toEqual(
      [],
    );
  });

  it('customer action: hosted page, pay button, PaidOrderNotification', async () => {
    const result = await gateway.processCart(
      purchase({ extraParameters: { 'x-sandbox-behaviour': 'action-needed' } }),
    );
    expect(result).toMatchObject({
      status: 'action_required',
      action: { type: 'hosted', url: `${config.publicUrl}/sandbox/cleverbridge/checkout/cs_1` },
    });
    const page = await request(app.getHttpServer()).get('/sandbox/cleverbridge/checkout/cs_1').expect(200);
    expect(page.text).toContain('<form method="post" action="cs_1/pay">');
    expect(page.text).toContain('Sandbox Pro (monthly) × 1: 999 USD (minor units)');

    const paid = await request(app.getHttpServer())
      .post('/sandbox/cleverbridge/checkout/cs_1/pay')
      .expect(200);
    expect(paid.text).toContain('<strong id="purchase-id">500000001</strong>');
    await request(app.getHttpServer()).post('/sandbox/cleverbridge/checkout/cs_1/pay').expect(409);
    expect((await request(app.getHttpServer()).get('/sandbox/cleverbridge/checkout/cs_1')).text).toContain(
      'Already paid',
    );
    await request(app.getHttpServer()).get('/sandbox/cleverbridge/checkout/nope').expect(404);

    await delivered();
    expect(WebhookSink.events).toMatchObject([
      { type: 'payment.paid', externalPaymentId: '500000001', externalSubscriptionId: 'S9000001' },
    ]);
  });

  it('the Nth rebill declines by subscription behaviour; the scheduled retry pays via /retries/run', async () => {
    await gateway.processCart(purchase());
    await delivered();
    await request(app.getHttpServer())
      .post('/sandbox/cleverbridge/subscriptions/S9000001/behaviour')
      .send({ behaveAs: 'decline:PAY_CLE:retry', times: 1 })
      .expect(200)
      .expect((res) =>
        expect(res.body).toMatchObject({ id: 'S9000001', behaveAs: 'decline:PAY_CLE:retry', remaining: 1 }),
      );
    await request(app.getHttpServer())
      .post('/sandbox/cleverbridge/subscriptions/S9000001/behaviour')
      .send({ behaveAs: 'maybe' })
      .expect(400);
    await request(app.getHttpServer())
      .post('/sandbox/cleverbridge/subscriptions/S404/behaviour')
      .send({ behaveAs: 'paid' })
      .expect(404);

    const declined = await gateway.rebill(rebill('S9000001'));
    expect(declined).toMatchObject({
      status: 'rejected',
      externalPaymentId: '500000002',
      decline: { code: 'PAY_CLE', class: 'soft', rawCode: 'PAY_CLE' },
      retryScheduled: true,
    });

    await request(app.getHttpServer())
      .post('/sandbox/cleverbridge/retries/run')
      .send({})
      .expect(200, { ran: [] });
    await request(app.getHttpServer())
      .post('/sandbox/cleverbridge/retries/run')
      .send({ now: 'soon' })
      .expect(400);
    const sandboxNow = new Date(
      ((await request(app.getHttpServer()).get('/sandbox/clock')).body as { now: string }).now,
    );
    const run = await request(app.getHttpServer())
      .post('/sandbox/cleverbridge/retries/run')
      .send({ now: new Date(sandboxNow.getTime() + 61 * 60 * 1000).toISOString() })
      .expect(200);
    expect(run.body).toEqual({
      ran: [{ purchaseId: '500000002', subscriptionId: 'S9000001', outcome: 'Paid', retryScheduled: false }],
    });
    await delivered();
    expect(WebhookSink.events.map((e) => [e.type, e.externalPaymentId, e.externalSubscriptionId])).toEqual([
      ['payment.paid', '500000001', 'S9000001'],
      ['payment.paid', '500000002', 'S9000001'],
    ]);
  });

  it('a sandbox clock advance runs the Cleverbridge retries that became due', async () => {
    await gateway.processCart(purchase());
    await delivered();
    const declined = await gateway.rebill(
      rebill('S9000001', { extraParameters: { 'x-sandbox-behaviour': 'decline:CCA_EXP' } }),
    );
    expect(declined).toMatchObject({
      status: 'rejected',
      retryScheduled: true,
      decline: { code: 'CCA_EXP', class: 'hard' },
    });
    const advanced = await request(app.getHttpServer())
      .post('/sandbox/clock/advance')
      .send({ hours: 1 })
      .expect(200);
    expect(advanced.body.listeners).toEqual([
      { name: 'cleverbridge-retries', ok: true, ms: expect.any(Number) },
    ]);
    await delivered();
    expect(WebhookSink.events.map((e) => [e.type, e.externalPaymentId])).toEqual([
      ['payment.paid', '500000001'],
      ['payment.paid', '500000002'],
    ]);
    expect(
      (await request(app.getHttpServer()).get('/sandbox/cleverbridge/purchases/500000002')).body,
    ).toMatchObject({
      status: 'Paid',
      retries: [{ outcome: 'Paid' }],
    });
  });

  it('webhooks/send lets tests see the app refuse bad credentials (401) and bad bodies (400)', async () => {
    const send = (body: unknown, auth?: string): request.Test =>
      request(app.getHttpServer())
        .post('/sandbox/cleverbridge/webhooks/send')
        .send({ body, ...(auth ? { auth } : {}) })
        .expect(200);
    const notification = { meta: { type: 'PaidOrderNotification', id: 'N-x' }, purchase: { id: '42' } };
    expect((await send(notification, 'invalid')).body).toMatchObject({
      status: 401,
      body: { code: 'WEBHOOK_UNAUTHENTICATED' },
    });
    expect((await send(notification, 'missing')).body).toMatchObject({ status: 401 });
    expect((await send({ meta: {} })).body).toMatchObject({
      status: 400,
      body: { code: 'WEBHOOK_MALFORMED' },
    });
    expect((await send(notification)).body).toMatchObject({ status: 200 });
    expect(WebhookSink.events).toMatchObject([{ type: 'payment.paid', externalPaymentId: '42' }]);
    await request(app.getHttpServer())
      .post('/sandbox/cleverbridge/webhooks/send')
      .send({ body: notification, auth: 'maybe' })
      .expect(400);
    await request(app.getHttpServer()).get('/sandbox/cleverbridge/webhooks/idle?timeoutMs=100').expect(200, {
      idle: true,
      held: 0,
    });
  });

  it('notifications are retried after a 5xx and duplicated on demand (same event id)', async () => {
    WebhookSink.failNext = 1;
    faults.set('cleverbridge', { duplicateWebhookRate: 1 });
    await gateway.processCart(purchase({ items: [{ productId: '200002', quantity: 1 }] }));
    await delivered();
    const deliveries = (await request(app.getHttpServer()).get('/sandbox/cleverbridge/webhooks')).body as {
      copy: number;
      state: string;
      attempts: number;
    }[];
    expect(deliveries.map((d) => [d.copy, d.state])).toEqual([
      [1, 'delivered'],
      [2, 'delivered'],
    ]);
    expect(deliveries.reduce((sum, d) => sum + d.attempts, 0)).toBe(3);
    expect(WebhookSink.events.map((e) => e.eventKey)).toEqual([
      'PaidOrderNotification:500000001',
      'PaidOrderNotification:500000001',
    ]);

    faults.set('cleverbridge', { duplicateWebhookRate: 0, lostWebhookRate: 1 });
    await gateway.processCart(purchase({ items: [{ productId: '200002', quantity: 1 }] }));
    await delivered();
    expect(WebhookSink.events).toHaveLength(2);
  });

  it('refund, chargeback and offline payment routes notify', async () => {
    const offline = await gateway.processCart(
      purchase({
        items: [{ productId: '200001', quantity: 1 }],
        extraParameters: { 'x-sandbox-behaviour': 'offline' },
      }),
    );
    expect(offline).toEqual({ status: 'pending', externalPaymentId: '500000001' });
    await delivered();
    await request(app.getHttpServer())
      .post('/sandbox/cleverbridge/purchases/500000001/receive-payment')
      .expect(200);
    await delivered();
    await request(app.getHttpServer())
      .post('/sandbox/cleverbridge/purchases/500000001/refund')
      .send({ amount: 500 })
      .expect(200)
      .expect((res) =>
        expect(res.body).toMatchObject({ status: 'PartiallyRefunded', refunded: { value: 500 } }),
      );
    await delivered();
    await request(app.getHttpServer())
      .post('/sandbox/cleverbridge/purchases/500000001/chargeback')
      .expect(200);
    await request(app.getHttpServer())
      .post('/sandbox/cleverbridge/purchases/500000001/chargeback')
      .expect(409);
    await request(app.getHttpServer())
      .post('/sandbox/cleverbridge/purchases/404/refund')
      .send({})
      .expect(404);
    await delivered();
    expect(WebhookSink.events.map((e) => [e.type, e.amount])).toEqual([
      ['ignored', { value: 2500, currency: 'USD' }],
      ['payment.paid', { value: 2500, currency: 'USD' }],
      ['refund.succeeded', { value: 500, currency: 'USD' }],
      ['chargeback', { value: 2000, currency: 'USD' }],
    ]);
  });
});
