import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { createHmac } from 'node:crypto';
import request from 'supertest';
import type { App } from 'supertest/types';
import { HttpExceptionFilter } from '../../src/common/errors/http-exception.filter';
import { createValidationPipe } from '../../src/common/errors/validation';
import { SANDBOX_SECRETS, SandboxSettings, sandboxSettings } from '../sandbox-settings';
import { SandboxClockController } from '../clock/sandbox-clock.controller';
import { SandboxClockService } from '../clock/sandbox-clock.service';
import { SandboxCoreModule } from '../sandbox-core.module';
import { SandboxFaults } from '../faults/sandbox-faults';
import { startWebhookReceiver, WebhookReceiver } from '../webhooks/test-webhook-receiver';
import { CleengSandboxModule } from './cleeng-sandbox.module';
import { CleengSandboxStore } from './cleeng-sandbox.store';
import { CleengWebhookEmitter } from './cleeng-webhook.emitter';
import { SANDBOX_BROADCASTER_ID } from './cleeng-webhook.payloads';

const SECRET = SANDBOX_SECRETS.cleengWebhookSecret;
const HEADER = 'x-cleeng-signature';
const TOKEN = { 'X-Publisher-Token': SANDBOX_SECRETS.cleengPublisherToken };
const CUSTOMER = 927751142;

function configFor(receiver: WebhookReceiver): SandboxSettings {
  return sandboxSettings({}, receiver.url);
}

const expectedSignature = (raw: string): string => createHmac('sha256', SECRET).update(raw).digest('hex');

/** A connector stand-in that checks the signature like the real one must. */
function verifyingAnswer(receiver: WebhookReceiver): void {
  receiver.answer = (req) =>
    req.headers[HEADER] === expectedSignature(req.rawBody)
      ? { status: 200, body: { ok: true } }
      : { status: 401, body: { code: 'UNAUTHENTICATED' } };
}

describe('CleengWebhookEmitter (HTTP delivery to a local receiver)', () => {
  let receiver: WebhookReceiver;
  let emitter: CleengWebhookEmitter;
  let faults: SandboxFaults;

  beforeEach(async () => {
    receiver = await startWebhookReceiver();
    const config = configFor(receiver);
    const clock = new SandboxClockService();
    faults = new SandboxFaults();
    emitter = new CleengWebhookEmitter(config, faults, new CleengSandboxStore(config, clock), clock);
    emitter.dispatcher.retryDelaysMs = [10, 20, 30];
    emitter.dispatcher.initialDelayMs = 0;
  });

  afterEach(async () => {
    emitter.onModuleDestroy();
    await receiver.close();
  });

  const data = {
    subscriptionId: '400000001',
    customerId: CUSTOMER,
    offerId: 'S100000001_US',
    paymentMethodId: 101,
  };

  it('posts {broadcasterId, topic, data} signed over the exact bytes, after emit() has returned', async () => {
    const [delivery] = emitter.emit('subscriptionReadyForTermination', data);
    expect(receiver.received).toHaveLength(0);
    expect(delivery).toMatchObject({
      topic: 'subscriptionReadyForTermination',
      delivered: false,
      attempts: 0,
    });

    const [got] = await receiver.waitFor(1);
    expect(got?.path).toBe('/webhooks/cleeng');
    expect(got?.headers['content-type']).toBe('application/json');
    expect(got?.json).toEqual({
      broadcasterId: SANDBOX_BROADCASTER_ID,
      topic: 'subscriptionReadyForTermination',
      data,
    });
    expect(got?.headers[HEADER]).toBe(expectedSignature(got?.rawBody ?? ''));
    expect(got?.headers[HEADER]).toMatch(/^[0-9a-f]{64}$/);

    expect(await emitter.idle(2_000)).toEqual({ idle: true, held: 0 });
    expect(emitter.deliveries()).toEqual([
      expect.objectContaining({
        attempts: 1,
        lastStatus: 200,
        delivered: true,
        state: 'delivered',
        lost: false,
      }),
    ]);
  });

  it('retries after a 500 and records every attempt', async () => {
    receiver.answer = (_req, index) => (index === 0 ? { status: 500 } : { status: 200 });
    emitter.emit('subscriptionReadyForTermination', data);
    await receiver.waitFor(2);
    expect(await emitter.idle(2_000)).toMatchObject({ idle: true });
    expect(receiver.received[0]?.rawBody).toBe(receiver.received[1]?.rawBody);
    expect(emitter.deliveries()[0]).toMatchObject({ attempts: 2, lastStatus: 200, delivered: true });
  });

  it('gives up after the last retry without throwing or leaving a rejected promise', async () => {
    receiver.answer = () => ({ status: 404, body: { message: 'Cannot POST /webhooks/cleeng' } });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      expect(() => emitter.emit('subscriptionReadyForTermination', data)).not.toThrow();
      expect(await emitter.idle(2_000)).toMatchObject({ idle: true });
      expect(receiver.received).toHaveLength(4);
      expect(emitter.deliveries()[0]).toMatchObject({
        attempts: 4,
        lastStatus: 404,
        delivered: false,
        state: 'failed',
      });
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('survives an unreachable app (network errors count as failed attempts)', async () => {
    await receiver.close();
    emitter.emit('subscriptionReadyForTermination', data);
    expect(await emitter.idle(3_000)).toMatchObject({ idle: true });
    const [delivery] = emitter.deliveries();
    expect(delivery).toMatchObject({ attempts: 4, lastStatus: null, delivered: false, state: 'failed' });
    expect(delivery?.lastError).toBeDefined();
    receiver = await startWebhookReceiver(); // for afterEach
  });

  it('sends a duplicate or loses the webhook when SandboxFaults says so', async () => {
    faults.set('cleeng', { duplicateWebhookRate: 1 });
    const copies = emitter.emit('subscriptionReadyForTermination', data);
    expect(copies.map((c) => c.copy)).toEqual([1, 2]);
    const got = await receiver.waitFor(2);
    expect(got[0]?.rawBody).toBe(got[1]?.rawBody);
    expect(got[0]?.headers[HEADER]).toBe(got[1]?.headers[HEADER]);

    faults.set('cleeng', { duplicateWebhookRate: 0, lostWebhookRate: 1 });
    const [lost] = emitter.emit('paymentDetailsDeactivated', {
      paymentDetailsId: 300000001,
      customerId: CUSTOMER,
      paymentMethodId: 101,
    });
    expect(lost).toMatchObject({ lost: true, state: 'lost', attempts: 0 });
    expect(await emitter.idle(2_000)).toMatchObject({ idle: true });
    expect(receiver.received).toHaveLength(2);
  });

  it('sends a hand-made webhook with a valid, invalid or missing signature and returns the answer', async () => {
    verifyingAnswer(receiver);
    expect(await emitter.sendNow('anyTopic', { x: 1 }, 'valid')).toEqual({ status: 200, body: { ok: true } });
    expect(await emitter.sendNow('anyTopic', { x: 1 }, 'invalid')).toEqual({
      status: 401,
      body: { code: 'UNAUTHENTICATED' },
    });
    expect(await emitter.sendNow('anyTopic', { x: 1 }, 'missing')).toMatchObject({ status: 401 });
    expect(receiver.received[2]?.headers[HEADER]).toBeUndefined();
    expect(receiver.received[1]?.headers[HEADER]).toMatch(/^[0-9a-f]{64}$/);
    expect(emitter.deliveries().map((d) => [d.manual, d.lastStatus])).toEqual([
      [true, 200],
      [true, 401],
      [true, 401],
    ]);
  });
});

/** What the SandboxModule provides around the emulator: settings, clock and faults. */
async function sandboxApp(config: SandboxSettings): Promise<INestApplication<App>> {
  const moduleRef = await Test.createTestingModule({
    imports: [SandboxCoreModule.forRoot(config, new SandboxClockService()), CleengSandboxModule],
    controllers: [SandboxClockController],
  }).compile();
  const app = moduleRef.createNestApplication<INestApplication<App>>({ logger: false });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new HttpExceptionFilter());
  await app.init();
  const emitter = app.get(CleengWebhookEmitter);
  emitter.dispatcher.retryDelaysMs = [10, 20, 30];
  emitter.dispatcher.initialDelayMs = 0;
  return app;
}

describe('Cleeng sandbox webhook routes, clock and operator actions (HTTP)', () => {
  let receiver: WebhookReceiver;
  let app: INestApplication<App>;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    verifyingAnswer(receiver);
    app = await sandboxApp(configFor(receiver));
  });

  afterAll(async () => {
    await app.close();
    await receiver.close();
  });

  beforeEach(async () => {
    app.get(SandboxFaults).clear();
    await request(app.getHttpServer()).post('/sandbox/cleeng/reset').expect(200);
    app.get(CleengSandboxStore).useDeterministicIds();
    receiver.received.length = 0;
  });

  const http = () => request(app.getHttpServer());

  async function subscribe(): Promise<{ paymentId: number; subscriptionId: number }> {
    const order = await http()
      .post('/sandbox/cleeng/3.1/orders')
      .set(TOKEN)
      .send({
        customerId: CUSTOMER,
        offerId: 'S100000001_US',
        currency: 'USD',
        country: 'US',
        paymentMethodId: 101,
      })
      .expect(200);
    const payment = await http()
      .post('/sandbox/cleeng/3.1/payments')
      .set(TOKEN)
      .send({
        orderId: order.body.order.id,
        status: 'captured',
        paymentOperation: 'initial-payment',
        externalPaymentId: 'PSP0001',
        paymentDetails: { token: 'tok-1', paymentMethodSpecificParams: {} },
      })
      .expect(200);
    // Cleeng's answer does not name the subscription: the inspection state does
    const state = await http().get('/sandbox/cleeng/state').expect(200);
    const stored = (state.body.payments as { id: number; subscriptionId?: number }[]).find(
      (p) => p.id === payment.body.payment.id,
    );
    if (stored?.subscriptionId === undefined) {
      throw new Error('the captured payment created no subscription');
    }
    return { paymentId: payment.body.payment.id, subscriptionId: stored.subscriptionId };
  }

  it('delivers the renewal a clock advance makes due; the idle route waits for it', async () => {
    const { subscriptionId } = await subscribe();
    const before = (await http().get('/sandbox/clock').expect(200)).body.now as string;
    const advanced = await http().post('/sandbox/clock/advance').send({ days: 32 }).expect(200);
    expect(new Date(advanced.body.now).getTime() - new Date(before).getTime()).toBeGreaterThanOrEqual(
      32 * 24 * 3600 * 1000,
    );
    expect(advanced.body.listeners).toEqual([expect.objectContaining({ name: 'cleeng-renewals', ok: true })]);
    expect((await http().get('/sandbox/cleeng/webhooks/idle').expect(200)).body).toEqual({
      idle: true,
      held: 0,
    });
    expect(receiver.received.map((r) => r.json)).toEqual([
      {
        broadcasterId: SANDBOX_BROADCASTER_ID,
        topic: 'subscriptionReadyForPaymentCapture',
        data: expect.objectContaining({ subscriptionId: String(subscriptionId), dunningStatus: 'capture' }),
      },
    ]);
    const log = (await http().get('/sandbox/cleeng/webhooks').expect(200)).body;
    expect(log).toEqual([
      expect.objectContaining({ topic: 'subscriptionReadyForPaymentCapture', delivered: true, attempts: 1 }),
    ]);
    // nothing new becomes due by running again
    expect((await http().post('/sandbox/cleeng/renewals/run').expect(200)).body).toEqual({ fired: [] });
    expect((await http().get('/sandbox/cleeng/renewals').expect(200)).body).toEqual([
      expect.objectContaining({ subscriptionId, attempts: [expect.objectContaining({ index: 0 })] }),
    ]);
  });

  it('validates clock advances', async () => {
    await http().post('/sandbox/clock/advance').send({}).expect(400);
    await http().post('/sandbox/clock/advance').send({ days: -1 }).expect(400);
    await http().post('/sandbox/clock/advance').send({ days: 401 }).expect(400);
    await http()
      .post('/sandbox/clock/advance')
      .send({ days: 300, hours: 24 * 101 })
      .expect(400);
    await http().post('/sandbox/clock/advance').send({ weeks: 1 }).expect(400);
  });

  it('sets dunning and rejects nonsense', async () => {
    expect((await http().get('/sandbox/cleeng/dunning').expect(200)).body).toEqual({
      authoriseFirst: false,
      paymentAttempts: [24, 72, 168],
      gracePeriodHours: 0,
    });
    expect(
      (
        await http()
          .post('/sandbox/cleeng/dunning')
          .send({ authoriseFirst: true, paymentAttempts: [12, 48] })
          .expect(200)
      ).body,
    ).toEqual({ authoriseFirst: true, paymentAttempts: [12, 48], gracePeriodHours: 0 });
    await http()
      .post('/sandbox/cleeng/dunning')
      .send({ authoriseFirst: true, paymentAttempts: [48, 12] })
      .expect(400);
    await http()
      .post('/sandbox/cleeng/dunning')
      .send({ paymentAttempts: [1] })
      .expect(400);
  });

  it('operator refund and capture send Cleeng-shaped webhooks, for payments in the right state only', async () => {
    const { paymentId } = await subscribe();
    const refund = await http()
      .post('/sandbox/cleeng/operator/refund')
      .send({ paymentId, amount: 4.5, reason: 'goodwill' })
      .expect(200);
    expect(refund.body.webhooks).toEqual([expect.objectContaining({ topic: 'refundPayment', copy: 1 })]);
    await receiver.waitFor(1);
    expect(receiver.received[0]?.json).toEqual({
      broadcasterId: SANDBOX_BROADCASTER_ID,
      topic: 'refundPayment',
      data: {
        paymentId,
        externalPaymentId: 'PSP0001',
        orderId: 100000001,
        amount: 4.5,
        currency: 'USD',
        customerId: CUSTOMER,
        paymentMethodId: 101,
        reason: 'goodwill',
      },
    });
    await http().post('/sandbox/cleeng/operator/refund').send({ paymentId, amount: 10 }).expect(409);
    await http().post('/sandbox/cleeng/operator/refund').send({ paymentId, amount: 1.001 }).expect(400);
    await http().post('/sandbox/cleeng/operator/refund').send({ paymentId: 999 }).expect(404);
    await http().post('/sandbox/cleeng/operator/refund').send({ paymentId: 'abc' }).expect(400);
    // captured, not authorised
    await http().post('/sandbox/cleeng/operator/capture').send({ paymentId }).expect(409);
  });

  it('operator terminate and deactivate-payment-details', async () => {
    const { subscriptionId } = await subscribe();
    await http()
      .post('/sandbox/cleeng/operator/terminate')
      .send({ subscriptionId: String(subscriptionId) })
      .expect(200);
    await http()
      .post('/sandbox/cleeng/operator/deactivate-payment-details')
      .send({ paymentDetailsId: 300000001 })
      .expect(200, { paymentDetailsId: 300000001, active: false });
    await http()
      .post('/sandbox/cleeng/operator/deactivate-payment-details')
      .send({ paymentDetailsId: 300000001 })
      .expect(409);
    await receiver.waitFor(2);
    expect(receiver.received.map((r) => r.json)).toEqual([
      expect.objectContaining({ topic: 'subscriptionReadyForTermination' }),
      {
        broadcasterId: SANDBOX_BROADCASTER_ID,
        topic: 'paymentDetailsDeactivated',
        data: { paymentDetailsId: 300000001, customerId: CUSTOMER, paymentMethodId: 101 },
      },
    ]);
    const state = (await http().get('/sandbox/cleeng/state').expect(200)).body;
    expect(state.paymentDetails[0].active).toBe(false);
    await http().post('/sandbox/cleeng/operator/terminate').send({ subscriptionId: 1 }).expect(404);
  });

  it('sends hand-made webhooks with a chosen signature and returns the app answer', async () => {
    const body = (signature: string) => ({ topic: 'refundPayment', data: { paymentId: 1 }, signature });
    expect((await http().post('/sandbox/cleeng/webhooks/send').send(body('valid')).expect(200)).body).toEqual(
      {
        status: 200,
        body: { ok: true },
      },
    );
    expect(
      (await http().post('/sandbox/cleeng/webhooks/send').send(body('invalid')).expect(200)).body,
    ).toMatchObject({
      status: 401,
    });
    expect(
      (await http().post('/sandbox/cleeng/webhooks/send').send(body('missing')).expect(200)).body,
    ).toMatchObject({
      status: 401,
    });
    expect(receiver.received[0]?.json).toEqual({
      broadcasterId: SANDBOX_BROADCASTER_ID,
      topic: 'refundPayment',
      data: { paymentId: 1 },
    });
    await http().post('/sandbox/cleeng/webhooks/send').send(body('bogus')).expect(400);
    await http()
      .post('/sandbox/cleeng/webhooks/send')
      .send({ topic: 'x', data: 'not-an-object' })
      .expect(400);
  });
});
