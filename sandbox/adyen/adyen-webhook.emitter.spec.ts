import { hmacValidator } from '@adyen/api-library';
import { NotificationRequestItem } from '@adyen/api-library/lib/src/typings/notification/models';
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
import { ReceivedWebhook, startWebhookReceiver, WebhookReceiver } from '../webhooks/test-webhook-receiver';
import { AdyenSandboxModule } from './adyen-sandbox.module';
import {
  AdyenNotificationItem,
  AdyenNotificationRequest,
  AdyenWebhookEmitter,
} from './adyen-webhook.emitter';

const KEY = SANDBOX_SECRETS.adyenHmacKey;
const MERCHANT = SANDBOX_SECRETS.adyenMerchantAccount;
const validator = new hmacValidator();

function itemOf(webhook: ReceivedWebhook | undefined): AdyenNotificationItem {
  const body = webhook?.json as AdyenNotificationRequest | undefined;
  const item = body?.notificationItems[0]?.NotificationRequestItem;
  if (!item) {
    throw new Error('no NotificationRequestItem');
  }
  return item;
}

/** The connector's check, done with the official library: every item must carry a valid signature. */
function verifyingAnswer(receiver: WebhookReceiver): void {
  receiver.answer = (req) => {
    const body = req.json as AdyenNotificationRequest<Record<string, unknown>> | undefined;
    const items = body?.notificationItems ?? [];
    try {
      const ok = items.every((i) =>
        validator.validateHMAC(i.NotificationRequestItem as unknown as NotificationRequestItem, KEY),
      );
      return ok ? { status: 200, body: '[accepted]' } : { status: 401 };
    } catch {
      return { status: 401 }; // missing hmacSignature
    }
  };
}

describe('AdyenWebhookEmitter (HTTP delivery to a local receiver)', () => {
  let receiver: WebhookReceiver;
  let app: INestApplication<App>;
  let faults: SandboxFaults;
  let emitter: AdyenWebhookEmitter;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    const settings = sandboxSettings({}, receiver.url);
    const moduleRef = await Test.createTestingModule({
      imports: [SandboxCoreModule.forRoot(settings, new SandboxClockService()), AdyenSandboxModule],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.useGlobalPipes(createValidationPipe());
    app.useGlobalFilters(new HttpExceptionFilter());
    await app.init();
    faults = app.get(SandboxFaults);
    emitter = app.get(AdyenWebhookEmitter);
    emitter.dispatcher.retryDelaysMs = [10, 20, 30];
    emitter.dispatcher.initialDelayMs = 5;
  });

  afterAll(async () => {
    await app.close();
    await receiver.close();
  });

  beforeEach(async () => {
    faults.clear();
    emitter.resume();
    await request(app.getHttpServer()).post('/sandbox/adyen/reset').expect(204);
    receiver.received.length = 0;
    verifyingAnswer(receiver);
  });

  const http = () => request(app.getHttpServer());
  const idle = async () =>
    expect((await http().get('/sandbox/adyen/webhooks/idle').expect(200)).body).toMatchObject({ idle: true });

  async function pay(reference: string): Promise<string> {
    const res = await http()
      .post('/sandbox/adyen/v71/payments')
      .set('X-API-Key', SANDBOX_SECRETS.adyenApiKey)
      .send({
        merchantAccount: MERCHANT,
        amount: { value: 1500, currency: 'USD' },
        reference,
        returnUrl: 'https://shop.example/return',
        paymentMethod: {
          type: 'scheme',
          number: '4111111111111111',
          expiryMonth: '03',
          expiryYear: '2030',
          cvc: '737',
        },
        shopperInteraction: 'Ecommerce',
      })
      .expect(200);
    return res.body.pspReference as string;
  }

  async function modify(
    psp: string,
    what: 'captures' | 'refunds',
    reference: string,
    value = 1500,
  ): Promise<string> {
    const res = await http()
      .post(`/sandbox/adyen/v71/payments/${psp}/${what}`)
      .set('X-API-Key', SANDBOX_SECRETS.adyenApiKey)
      .send({ merchantAccount: MERCHANT, amount: { value, currency: 'USD' }, reference })
      .expect(201);
    return res.body.pspReference as string;
  }

  it('notifies AUTHORISATION and CAPTURE as standard notifications the official validator accepts', async () => {
    const psp = await pay('order-1');
    const capturePsp = await modify(psp, 'captures', 'capture-1');
    await receiver.waitFor(2);
    await idle();
    const [auth, capture] = receiver.received;
    expect(auth?.path).toBe('/webhooks/adyen');
    expect((auth?.json as AdyenNotificationRequest).live).toBe('false');
    expect(itemOf(auth)).toMatchObject({
      eventCode: 'AUTHORISATION',
      pspReference: psp,
      merchantReference: 'order-1',
      merchantAccountCode: MERCHANT,
      success: 'true',
      amount: { value: 1500, currency: 'USD' },
    });
    expect(itemOf(auth)).not.toHaveProperty('originalReference');
    expect(itemOf(capture)).toMatchObject({
      eventCode: 'CAPTURE',
      pspReference: capturePsp,
      originalReference: psp,
      merchantReference: 'capture-1',
      success: 'true',
      amount: { value: 1500, currency: 'USD' },
    });
    expect(emitter.deliveries().map((d) => [d.eventCode, d.lastStatus, d.delivered])).toEqual([
      ['AUTHORISATION', 200, true],
      ['CAPTURE', 200, true],
    ]);
  });

  it('retries until the app answers 2xx', async () => {
    receiver.answer = (_req, index) => (index < 2 ? { status: 503 } : { status: 200, body: '[accepted]' });
    await pay('order-retry');
    await receiver.waitFor(3);
    await idle();
    expect(receiver.received.map((r) => r.rawBody)).toEqual([
      receiver.received[0]?.rawBody,
      receiver.received[0]?.rawBody,
      receiver.received[0]?.rawBody,
    ]);
    expect((await http().get('/sandbox/adyen/webhooks').expect(200)).body).toEqual([
      expect.objectContaining({ eventCode: 'AUTHORISATION', attempts: 3, lastStatus: 200, delivered: true }),
    ]);
  });

  it('duplicates a notification when SandboxFaults says so', async () => {
    faults.set('adyen', { duplicateWebhookRate: 1 });
    await pay('order-dup');
    await receiver.waitFor(2);
    await idle();
    expect(receiver.received[0]?.rawBody).toBe(receiver.received[1]?.rawBody);
  });

  it('holds notifications while paused and delivers them on resume', async () => {
    await http().post('/sandbox/adyen/webhooks/pause').expect(200, { paused: true });
    await pay('order-paused');
    expect((await http().get('/sandbox/adyen/webhooks/idle?timeoutMs=1000').expect(200)).body).toEqual({
      idle: true,
      held: 1,
    });
    expect(receiver.received).toHaveLength(0);
    await http().post('/sandbox/adyen/webhooks/resume').expect(200, { paused: false });
    await receiver.waitFor(1);
    expect(itemOf(receiver.received[0])).toMatchObject({ merchantReference: 'order-paused' });
  });

  it('turns the last capture into CAPTURE_FAILED and the last refund into REFUND_FAILED', async () => {
    const psp = await pay('order-fail');
    const capturePsp = await modify(psp, 'captures', 'capture-f');
    const failedCapture = await http().post(`/sandbox/adyen/payments/${psp}/fail-capture`).expect(200);
    expect(failedCapture.body).toEqual({ pspReference: capturePsp });
    await http().post(`/sandbox/adyen/payments/${psp}/fail-capture`).expect(409);

    // capturable again; capture, refund part, fail the refund
    const capture2 = await modify(psp, 'captures', 'capture-g');
    const refundPsp = await modify(psp, 'refunds', 'refund-1', 500);
    expect((await http().post(`/sandbox/adyen/payments/${psp}/fail-refund`).expect(200)).body).toEqual({
      pspReference: refundPsp,
    });
    await http().post('/sandbox/adyen/payments/UNKNOWN/fail-refund').expect(404);

    await receiver.waitFor(6);
    await idle();
    const items = receiver.received.map(itemOf);
    expect(items.map((i) => i.eventCode)).toEqual([
      'AUTHORISATION',
      'CAPTURE',
      'CAPTURE_FAILED',
      'CAPTURE',
      'REFUND',
      'REFUND_FAILED',
    ]);
    expect(items[2]).toMatchObject({
      pspReference: capturePsp,
      originalReference: psp,
      merchantReference: 'capture-f',
      success: 'true',
    });
    expect(items[3]?.pspReference).toBe(capture2);
    expect(items[5]).toMatchObject({
      pspReference: refundPsp,
      originalReference: psp,
      merchantReference: 'refund-1',
      amount: { value: 500, currency: 'USD' },
    });
    // all of them passed the library check in the receiver
    expect(emitter.deliveries().every((d) => d.delivered)).toBe(true);
    const ledger = (await http().get('/sandbox/adyen/ledger?merchantReference=order-fail').expect(200)).body;
    expect(ledger.payments[0]).toMatchObject({ status: 'captured', capturedValue: 1500, refundedValue: 0 });
  });

  it('sends hand-made items signed validly, wrongly or not at all, and returns the answer', async () => {
    const item = {
      eventCode: 'AUTHORISATION',
      pspReference: 'ABCDEF0123456789',
      merchantAccountCode: MERCHANT,
      merchantReference: 'manual-1',
      amount: { value: 100, currency: 'EUR' },
      success: 'true',
      eventDate: '2026-01-01T00:00:00Z',
    };
    const send = (signature: string) =>
      http()
        .post('/sandbox/adyen/webhooks/send')
        .send({ items: [item], signature });
    expect((await send('valid').expect(200)).body).toEqual({ status: 200, body: '[accepted]' });
    expect((await send('invalid').expect(200)).body).toMatchObject({ status: 401 });
    expect((await send('missing').expect(200)).body).toMatchObject({ status: 401 });
    const sent = receiver.received.map(itemOf);
    expect(sent[0]?.additionalData.hmacSignature).toBe(
      validator.calculateHmac(item as unknown as NotificationRequestItem, KEY),
    );
    expect(sent[1]?.additionalData.hmacSignature).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(sent[2]?.additionalData).toEqual({});
    await http().post('/sandbox/adyen/webhooks/send').send({ items: [] }).expect(400);
    await http()
      .post('/sandbox/adyen/webhooks/send')
      .send({ items: [item], signature: 'maybe' })
      .expect(400);
  });
});
