import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import type { App } from 'supertest/types';
import { HttpExceptionFilter } from '../../src/common/errors/http-exception.filter';
import { createValidationPipe } from '../../src/common/errors/validation';
import { SandboxClockService } from '../clock/sandbox-clock.service';
import { SandboxCoreModule } from '../sandbox-core.module';
import { SANDBOX_SECRETS, sandboxSettings } from '../sandbox-settings';
import { SandboxFaults } from '../faults/sandbox-faults';
import { CleengSandboxStore } from './cleeng-sandbox.store';
import { CleengSandboxModule } from './cleeng-sandbox.module';
import { CleengWebhookEmitter } from './cleeng-webhook.emitter';

/** What the SandboxModule provides around the emulator: settings, clock and faults. */
const HostModule = SandboxCoreModule.forRoot(
  sandboxSettings({}, 'http://localhost:3000'),
  new SandboxClockService(),
);

const BASE = '/sandbox/cleeng/3.1';
const TOKEN = { 'X-Publisher-Token': SANDBOX_SECRETS.cleengPublisherToken };
const ORDER = {
  customerId: 927751142,
  offerId: 'S100000001_US',
  currency: 'USD',
  country: 'US',
  paymentMethodId: 101,
};

describe('CleengSandboxController (HTTP)', () => {
  let app: INestApplication<App>;
  let faults: SandboxFaults;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [HostModule, CleengSandboxModule],
    }).compile();
    app = moduleRef.createNestApplication();
    // the app's own pipe and filter, to prove emulator bodies pass through both untouched
    app.useGlobalPipes(createValidationPipe());
    app.useGlobalFilters(new HttpExceptionFilter());
    await app.init();
    faults = app.get(SandboxFaults);
    // webhooks are covered by cleeng-webhook.emitter.spec.ts; here they must not leave the process
    app.get(CleengWebhookEmitter).dispatcher.pause();
  });

  afterAll(async () => {
    await app.close();
  });

  beforeEach(async () => {
    faults.clear();
    await request(app.getHttpServer()).post('/sandbox/cleeng/reset').expect(200, { success: true });
    app.get(CleengSandboxStore).useDeterministicIds();
  });

  async function createOrder(): Promise<number> {
    const res = await request(app.getHttpServer()).post(`${BASE}/orders`).set(TOKEN).send(ORDER).expect(200);
    return (res.body as { order: { id: number } }).order.id;
  }

  it('refuses calls without the publisher token', async () => {
    await request(app.getHttpServer())
      .post(`${BASE}/orders`)
      .send(ORDER)
      .expect(401, { success: false, message: 'Invalid or missing X-Publisher-Token' });
    await request(app.getHttpServer())
      .post(`${BASE}/orders`)
      .set('X-Publisher-Token', 'wrong')
      .send(ORDER)
      .expect(401);
  });

  it('creates an order with 200 and the 3.1 envelope; validation errors keep the Cleeng shape', async () => {
    const res = await request(app.getHttpServer()).post(`${BASE}/orders`).set(TOKEN).send(ORDER).expect(200);
    expect(res.body).toMatchObject({
      success: true,
      order: { id: 100000001, totalPrice: 9.99, currency: 'USD' },
    });

    await request(app.getHttpServer())
      .post(`${BASE}/orders`)
      .set(TOKEN)
      .send({ ...ORDER, country: 'usa' })
      .expect(400, { success: false, message: 'country: must be a 2-letter ISO 3166-1 code' });
  });

  it('replays a payment for a repeated Idempotency-Key and logs both deliveries', async () => {
    const orderId = await createOrder();
    const payment = {
      orderId,
      status: 'captured',
      paymentOperation: 'initial-payment',
      externalPaymentId: 'psp-1',
      paymentDetails: { token: 'tok', paymentMethodSpecificParams: { lastCardFourDigits: '1111' } },
    };
    const send = (body: object): request.Test =>
      request(app.getHttpServer())
        .post(`${BASE}/payments`)
        .set(TOKEN)
        .set('Idempotency-Key', 'attempt-1')
        .send(body);

    const first = await send(payment).expect(200);
    expect(first.body).toMatchObject({ success: true, message: 'Payment created successfully' });
    // same body with keys in another order is the same request
    const { orderId: _orderId, ...rest } = payment;
    const second = await send({ ...rest, orderId }).expect(200);
    expect(second.body).toEqual(first.body);
    await send({ ...payment, externalPaymentId: 'psp-2' }).expect(409);

    const state = await request(app.getHttpServer()).get('/sandbox/cleeng/state').expect(200);
    expect(state.body).toMatchObject({
      payments: [{ id: 200000001, status: 'captured' }],
      paymentDetails: [{ id: 300000001, token: 'tok' }],
      subscriptions: [{ subscriptionId: 400000001, status: 'active' }],
    });

    const log = await request(app.getHttpServer()).get('/sandbox/cleeng/requests').expect(200);
    const paymentCalls = (log.body as { method: string; path: string }[]).filter(
      (entry) => entry.path === `${BASE}/payments`,
    );
    expect(paymentCalls).toEqual([
      {
        method: 'POST',
        path: `${BASE}/payments`,
        status: 200,
        idempotencyKey: 'attempt-1',
        at: expect.any(String),
      },
      {
        method: 'POST',
        path: `${BASE}/payments`,
        status: 200,
        idempotencyKey: 'attempt-1',
        replayed: true,
        at: expect.any(String),
      },
      {
        method: 'POST',
        path: `${BASE}/payments`,
        status: 409,
        idempotencyKey: 'attempt-1',
        at: expect.any(String),
      },
    ]);
  });

  it('answers injected faults before processing and holds processed responses when told to hang', async () => {
    faults.set('cleeng', { failNext: 1, failStatus: 503 });
    await request(app.getHttpServer())
      .post(`${BASE}/orders`)
      .set(TOKEN)
      .send(ORDER)
      .expect(503, { success: false, message: 'sandbox fault injected: HTTP 503' });
    let state = await request(app.getHttpServer()).get('/sandbox/cleeng/state');
    expect(state.body).toMatchObject({ orders: [] });

    faults.set('cleeng', { hangNext: 1, hangMs: 300 });
    const hung = request(app.getHttpServer()).post(`${BASE}/orders`).set(TOKEN).send(ORDER).timeout(100);
    await expect(hung).rejects.toThrow(/Timeout/);
    // the caller timed out, yet the order exists: exactly the unknown outcome the connector must handle
    state = await request(app.getHttpServer()).get('/sandbox/cleeng/state');
    expect(state.body).toMatchObject({ orders: [{ id: 100000001 }] });
    await new Promise((resolve) => setTimeout(resolve, 300));
  });

  it('routes PATCH, cancel, authorised payments, delete and subscription calls', async () => {
    const orderId = await createOrder();
    const created = await request(app.getHttpServer())
      .post(`${BASE}/payments`)
      .set(TOKEN)
      .send({
        orderId: String(orderId),
        status: 'authorised',
        paymentOperation: 'initial-payment',
        externalPaymentId: 'psp-auth',
        paymentDetails: { token: 'tok' },
      })
      .expect(200);
    const paymentId = (created.body as { payment: { id: number } }).payment.id;

    const listed = await request(app.getHttpServer())
      .get(`${BASE}/payment_details/300000001/authorised_payments`)
      .set(TOKEN)
      .expect(200);
    expect(listed.body).toMatchObject({ success: true, data: [{ id: paymentId, status: 'authorized' }] });

    await request(app.getHttpServer())
      .patch(`${BASE}/payments/${paymentId}/cancel`)
      .set(TOKEN)
      .expect(200)
      .expect((res) => expect(res.body).toMatchObject({ success: true, payment: { status: 'cancelled' } }));
    await request(app.getHttpServer())
      .patch(`${BASE}/payments/${paymentId}`)
      .set(TOKEN)
      .send({ status: 'captured' })
      .expect(422);

    await request(app.getHttpServer())
      .delete(`${BASE}/payment_details/300000001`)
      .set(TOKEN)
      .expect(200, { success: true });

    await request(app.getHttpServer())
      .patch(`${BASE}/subscriptions/400000001`)
      .set(TOKEN)
      .send({ status: 'terminated' })
      .expect(404, {
        success: false,
        subscription: null,
        message: 'Subscription with id 400000001 does not exists',
      });
    await request(app.getHttpServer())
      .post(`${BASE}/subscriptions/400000001/terminate`)
      .set(TOKEN)
      .send({ terminationType: 'userCancel' })
      .expect(404);
  });
});
