import 'reflect-metadata';
import { Global, INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import type { App } from 'supertest/types';
import { SANDBOX_SECRETS, SANDBOX_SETTINGS } from '../sandbox-settings';
import { SandboxFaults } from '../faults/sandbox-faults';
import { AdyenSandboxModule } from './adyen-sandbox.module';
import { cardPaymentRequest } from './adyen-test-requests';
import { AdyenWebhookEmitter } from './adyen-webhook.emitter';

const API_KEY = SANDBOX_SECRETS.adyenApiKey;
const MERCHANT = SANDBOX_SECRETS.adyenMerchantAccount;

describe('Adyen sandbox over HTTP', () => {
  let app: INestApplication<App>;
  let faults: SandboxFaults;

  beforeAll(async () => {
    faults = new SandboxFaults();
    // In the app these come from the SandboxModule (SandboxCoreModule).
    @Global()
    @Module({
      providers: [
        {
          provide: SANDBOX_SETTINGS,
          useValue: { publicUrl: 'http://sandbox.test', adyen: { hmacKey: SANDBOX_SECRETS.adyenHmacKey } },
        },
        { provide: SandboxFaults, useValue: faults },
      ],
      exports: [SANDBOX_SETTINGS, SandboxFaults],
    })
    class SandboxGlobalsModule {}

    const moduleRef = await Test.createTestingModule({
      imports: [SandboxGlobalsModule, AdyenSandboxModule],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    // notifications are covered by adyen-webhook.emitter.spec.ts; here they must not leave the process
    app.get(AdyenWebhookEmitter).pause();
  });

  afterAll(async () => {
    await app.close();
  });

  beforeEach(async () => {
    faults.clear();
    await request(app.getHttpServer()).post('/sandbox/adyen/reset').expect(204);
  });

  const post = (path: string, body: unknown, key?: string) => {
    const req = request(app.getHttpServer()).post(`/sandbox/adyen/v71${path}`).set('X-API-Key', API_KEY);
    return (key ? req.set('Idempotency-Key', key) : req).send(body as object);
  };

  it('answers 401 ServiceError without the API key', async () => {
    const res = await request(app.getHttpServer())
      .post('/sandbox/adyen/v71/payments')
      .send(cardPaymentRequest('r-401'));
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      status: 401,
      errorCode: '000',
      message: 'HTTP Status Response - Unauthorized',
      errorType: 'security',
    });
  });

  it('authorises, echoes the Idempotency-Key and shows the payment in the ledger', async () => {
    const res = await post('/payments', cardPaymentRequest('r-ok'), 'key-1');
    expect(res.status).toBe(200);
    expect(res.headers['idempotency-key']).toBe('key-1');
    expect(res.body).toMatchObject({ resultCode: 'Authorised', merchantReference: 'r-ok' });

    const ledger = await request(app.getHttpServer())
      .get('/sandbox/adyen/ledger?merchantReference=r-ok')
      .expect(200);
    expect(ledger.body).toMatchObject({
      requests: 1,
      payments: [{ pspReference: res.body.pspReference, status: 'authorised' }],
    });
  });

  it('answers 422 14_030 with the spec violations', async () => {
    const res = await post('/payments', { ...cardPaymentRequest('r-bad'), shopperInteraction: 'Sometimes' });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ status: 422, errorCode: '14_030', errorType: 'validation' });
    expect(res.body.message).toContain('shopperInteraction must be one of');
  });

  it('injected 5xx happens before processing: nothing is charged', async () => {
    faults.set('adyen', { failNext: 1, failStatus: 503 });
    const res = await post('/payments', cardPaymentRequest('r-503'), 'key-503');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 503, errorType: 'internal' });
    const ledger = await request(app.getHttpServer()).get('/sandbox/adyen/ledger?merchantReference=r-503');
    expect(ledger.body).toEqual({ payments: [], requests: 0 });

    // the retry with the same key is processed normally
    expect((await post('/payments', cardPaymentRequest('r-503'), 'key-503')).body.resultCode).toBe(
      'Authorised',
    );
  });

  it('a held response was processed: the retry with the same key replays it', async () => {
    faults.set('adyen', { hangNext: 1, hangMs: 300 });
    const slow = post('/payments', cardPaymentRequest('r-hang'), 'key-hang').timeout(100);
    await expect(slow).rejects.toThrow(/timeout/i);
    const retry = await post('/payments', cardPaymentRequest('r-hang'), 'key-hang');
    expect(retry.body.resultCode).toBe('Authorised');
    const ledger = await request(app.getHttpServer()).get('/sandbox/adyen/ledger?merchantReference=r-hang');
    expect(ledger.body.payments).toHaveLength(1);
    const keys = await request(app.getHttpServer()).get('/sandbox/adyen/idempotency?key=key-hang');
    expect(keys.body).toEqual([expect.objectContaining({ key: 'key-hang', seen: 2 })]);
    await new Promise((r) => setTimeout(r, 300)); // let the held response finish before the app closes
  });

  it('runs the 3DS redirect flow: page, approve, details', async () => {
    const start = await post('/payments', cardPaymentRequest('r-3ds', '4000000000003220'));
    expect(start.body).toMatchObject({
      resultCode: 'RedirectShopper',
      action: { type: 'redirect', method: 'GET' },
    });
    const url = new URL(start.body.action.url);
    expect(url.origin).toBe('http://sandbox.test');

    const page = await request(app.getHttpServer()).get(url.pathname).expect(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.text).toContain('id="approve"');
    expect(page.text).not.toContain('4000000000003220');

    const approve = await request(app.getHttpServer()).get(`${url.pathname}/approve`).expect(302);
    const location = new URL(approve.headers.location ?? '');
    expect(`${location.origin}${location.pathname}`).toBe('https://shop.example/checkout/return');
    const redirectResult = location.searchParams.get('redirectResult');

    const details = await post('/payments/details', { details: { redirectResult } });
    expect(details.status).toBe(200);
    expect(details.body).toMatchObject({ resultCode: 'Authorised', pspReference: start.body.pspReference });

    await request(app.getHttpServer()).get('/sandbox/adyen/3ds/unknown').expect(404);
  });

  it('answers modifications with 201 received', async () => {
    const auth = await post('/payments', cardPaymentRequest('r-mod'));
    const psp: string = auth.body.pspReference;
    const capture = await post(`/payments/${psp}/captures`, {
      merchantAccount: MERCHANT,
      amount: { value: 1500, currency: 'USD' },
      reference: 'cap',
    });
    expect(capture.status).toBe(201);
    expect(capture.body).toMatchObject({ paymentPspReference: psp, status: 'received' });
    const refund = await post(`/payments/${psp}/refunds`, {
      merchantAccount: MERCHANT,
      amount: { value: 1600, currency: 'USD' },
    });
    expect(refund.status).toBe(422);
    const cancel = await post('/cancels', { merchantAccount: MERCHANT, paymentReference: 'r-mod' });
    expect(cancel.status).toBe(201);
  });

  it('lets tests steer a stored token and list tokens', async () => {
    const auth = await post('/payments', {
      ...cardPaymentRequest('r-token'),
      shopperReference: 'shopper-1',
      storePaymentMethod: true,
      recurringProcessingModel: 'Subscription',
    });
    const token: string = auth.body.additionalData['tokenization.storedPaymentMethodId'];
    const list = await request(app.getHttpServer()).get(
      '/sandbox/adyen/stored-payment-methods?shopperReference=shopper-1',
    );
    expect(list.body).toEqual([expect.objectContaining({ id: token, last4: '1111', brand: 'visa' })]);
    expect(JSON.stringify(list.body)).not.toContain('4111111111111111');

    await request(app.getHttpServer())
      .post(`/sandbox/adyen/stored-payment-methods/${token}/behaviour`)
      .send({ behaveAs: '4100000000000019' })
      .expect(204);
    const mit = await post('/payments', {
      ...cardPaymentRequest('r-token-2'),
      paymentMethod: { type: 'scheme', storedPaymentMethodId: token },
      shopperReference: 'shopper-1',
      shopperInteraction: 'ContAuth',
      recurringProcessingModel: 'Subscription',
    });
    expect(mit.body).toMatchObject({
      resultCode: 'Refused',
      refusalReasonCode: '20',
      refusalReason: 'FRAUD',
    });
  });
});
