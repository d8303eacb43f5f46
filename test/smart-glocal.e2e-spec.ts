import { createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import {
  advanceClock,
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

async function order(opts: { offerId?: string; customerId?: string; currency?: string } = {}) {
  const res = await app.http
    .post('/v1/orders')
    .set(API)
    .send({
      customerId: opts.customerId ?? newCustomerId(),
      offerId: opts.offerId ?? OFFERS.monthlyUsd,
      currency: opts.currency ?? 'USD',
      country: 'US',
      gateway: 'smart-glocal',
    });
  expect({ status: res.status, body: res.status === 201 ? null : (res.body as unknown) }).toEqual({
    status: 201,
    body: null,
  });
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

async function inboxFor(sessionId: string) {
  const res = await app.http.get('/ops/inbox').query({ source: 'smart-glocal' }).set(OPERATOR);
  const body = res.body as { items?: { eventKey: string; status: string }[] } | { eventKey: string }[];
  const items = Array.isArray(body) ? body : (body.items ?? []);
  return items.filter((e) => e.eventKey.startsWith(sessionId));
}

async function requestsFor(sessionId: string) {
  const all = (await app.http.get('/sandbox/smart-glocal/requests')).body as {
    path: string;
    body?: { session_id?: string };
  }[];
  return all.filter((r) => r.body?.session_id === sessionId).map((r) => r.path);
}

async function captured(number: string = CARDS.approve) {
  const o = await order();
  const started = (await pay(o.id, sgCard(number))).body as PaymentView;
  await until(started.id, 'captured');
  return { order: o, payment: started, sessionId: started.externalPaymentId! };
}

describe('Smart Glocal signatures both ways', () => {
  it('the emulator refuses a request signed with another key (401 invalid_signature)', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const body = JSON.stringify({ session_id: 'ps_1' });
    const res = await app.http
      .post('/sandbox/smart-glocal/api/v1/session/status')
      .set('Content-Type', 'application/json')
      .set('X-PARTNER-PROJECT', 'sandbox-project')
      .set('X-PARTNER-SIGN', createSign('RSA-SHA256').update(body).sign(privateKey, 'base64'))
      .send(body);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ status: 'error', error: { code: 'invalid_signature' } });
  });

  it('a webhook with a bad or missing X-PARTNER-SIGN is answered 401 and nothing is stored', async () => {
    const { sessionId } = await captured();
    const before = (await inboxFor(sessionId)).length;
    for (const signature of ['invalid', 'missing']) {
      const sent = (
        await app.http
          .post('/sandbox/smart-glocal/webhooks/send')
          .send({ sessionId, type: 'payment_refunded', signature })
      ).body as { status: number };
      expect(sent.status).toBe(401);
    }
    const forged = await app.http
      .post('/webhooks/smart-glocal')
      .set('Content-Type', 'application/json')
      .set('X-PARTNER-SIGN', 'bm90IGEgc2lnbmF0dXJl')
      .send(JSON.stringify({ type: 'payment_finished', session: { id: sessionId } }));
    expect(forged.status).toBe(401);
    expect((await inboxFor(sessionId)).length).toBe(before);
  });
});

describe('Smart Glocal webhooks: resends and order', () => {
  it('a resent payment_finished is stored once and changes nothing', async () => {
    const { payment: p, sessionId, order: o } = await captured();
    const before = await inboxFor(sessionId);
    for (let i = 0; i < 2; i += 1) {
      const sent = (
        await app.http
          .post('/sandbox/smart-glocal/webhooks/send')
          .send({ sessionId, type: 'payment_finished' })
      ).body as { status: number };
      expect(sent.status).toBe(200);
    }
    await settle();
    expect((await inboxFor(sessionId)).length).toBe(before.length);
    expect((await payment(p.id)).status).toBe('captured');
    expect(await cleengPaymentsForOrder(app, o.cleengOrderId)).toHaveLength(1);
  });

  it('ready_to_confirm arriving after payment_finished is ignored: no confirm, no cancel', async () => {
    const { sessionId, payment: p } = await captured();
    const sent = (
      await app.http.post('/sandbox/smart-glocal/webhooks/send').send({ sessionId, type: 'ready_to_confirm' })
    ).body as { status: number };
    expect(sent.status).toBe(200);
    await settle();
    expect((await requestsFor(sessionId)).filter((r) => r === 'session/cancel')).toHaveLength(0);
    expect((await requestsFor(sessionId)).filter((r) => r === 'session/confirm')).toHaveLength(1);
    expect((await session(sessionId)).status).toBe('accepted');
    expect((await payment(p.id)).status).toBe('captured');
  });

  it('a ready_to_confirm naming another amount is cancelled, never confirmed, and the payment rejected', async () => {
    await app.http.post('/sandbox/smart-glocal/next-confirm-amount-delta').send({ delta: 100 });
    const o = await order();
    const started = (await pay(o.id, sgCard(CARDS.approve))).body as PaymentView;
    const rejected = await until(started.id, 'rejected');
    expect(rejected.decline).toMatchObject({ code: 'GW_ERROR' });
    const sessionId = started.externalPaymentId!;
    expect(await requestsFor(sessionId)).toContain('session/cancel');
    expect(await requestsFor(sessionId)).not.toContain('session/confirm');
    expect((await session(sessionId)).status).toBe('canceled');
  });
});

describe('Smart Glocal 3-D Secure', () => {
  it('action_required shows the redirect; the shopper approves and returns; completes to captured', async () => {
    const o = await order();
    const started = (await pay(o.id, sgCard(CARDS.threeDS))).body as PaymentView;
    const waiting = await until(started.id, 'action_required');
    expect(waiting.action).toMatchObject({ type: 'redirect', method: 'GET' });
    const page = await app.http.get(new URL(waiting.action!.url).pathname);
    expect(page.status).toBe(200);
    const approved = await app.http.get(`/sandbox/smart-glocal/3ds/${started.externalPaymentId!}/approve`);
    expect(approved.status).toBe(302);
    const back = new URL(approved.headers.location as string);
    expect(back.pathname).toBe(`/v1/payments/${started.id}/return`);
    const returned = await app.http.get(back.pathname + back.search);
    expect(returned.status).toBeLessThan(400);
    const done = await until(started.id, 'captured');
    expect(done.externalPaymentId).toBe(started.externalPaymentId);
  });

  it('a return posted as a form (an ACS that POSTs back) completes too, answered with a GET redirect', async () => {
    const o = await order();
    const started = (await pay(o.id, sgCard(CARDS.threeDS))).body as PaymentView;
    await until(started.id, 'action_required');
    // the 3DS outcome is known to Smart Glocal; its webhook is held back, so only the return can settle it now
    await app.http.post('/sandbox/smart-glocal/webhooks/pause');
    try {
      await app.http.get(`/sandbox/smart-glocal/3ds/${started.externalPaymentId!}/approve`);
      const posted = await app.http
        .post(`/v1/payments/${started.id}/return`)
        .type('form')
        .send({ PaRes: 'eJzLSM3JyQcABiwCFQ==', MD: 'abc' });
      expect(posted.status).toBe(303);
      expect(posted.headers.location).toBe('return');
      expect((await payment(started.id)).status).toBe('captured');
    } finally {
      await app.http.post('/sandbox/smart-glocal/webhooks/resume');
    }
  });

  it('completeAction through POST /v1/payments/:id/complete; a denied challenge is rejected', async () => {
    const o = await order();
    const started = (await pay(o.id, sgCard(CARDS.threeDS))).body as PaymentView;
    await until(started.id, 'action_required');
    await app.http.get(`/sandbox/smart-glocal/3ds/${started.externalPaymentId!}/deny`);
    const completed = await app.http
      .post(`/v1/payments/${started.id}/complete`)
      .set(API)
      .send({ details: { sessionId: started.externalPaymentId } });
    expect(completed.status).toBeLessThan(300);
    expect(['rejected', 'pending']).toContain((completed.body as PaymentView).status);
    const rejected = await until(started.id, 'rejected');
    expect(rejected.decline?.code).toBe('PAY_DEC');
  });

  it("an abandoned challenge ends with Smart Glocal's 60-minute expiry on the test clock", async () => {
    const o = await order();
    const started = (await pay(o.id, sgCard(CARDS.threeDS))).body as PaymentView;
    await until(started.id, 'action_required');
    await app.http.post('/sandbox/clock/advance').send({ minutes: 61 });
    const rejected = await until(started.id, 'rejected');
    expect((await session(started.externalPaymentId!)).status).toBe('canceled');
    expect(rejected.decline?.code).toBe('PAY_DEC');
  });

  it('a session never confirmed ends with the 240-minute expiry; the late ready_to_confirm is not confirmed', async () => {
    await app.http.post('/sandbox/smart-glocal/webhooks/pause');
    try {
      const o = await order();
      const started = (await pay(o.id, sgCard(CARDS.approve))).body as PaymentView;
      await app.http.post('/sandbox/clock/advance').send({ minutes: 241 });
      expect((await session(started.externalPaymentId!)).status).toBe('canceled');
      await app.http.post('/sandbox/smart-glocal/webhooks/resume');
      const rejected = await until(started.id, 'rejected');
      expect(rejected.status).toBe('rejected');
      expect(
        (await requestsFor(started.externalPaymentId!)).filter((r) => r === 'session/confirm'),
      ).toHaveLength(0);
    } finally {
      await app.http.post('/sandbox/smart-glocal/webhooks/resume');
    }
  });
});

describe('Smart Glocal refunds', () => {
  it('partial then full refund through session/refund, completed by payment_refunded', async () => {
    const { payment: p, sessionId } = await captured();
    const partial = await app.http
      .post('/v1/refunds')
      .set(API)
      .set('Idempotency-Key', randomUUID())
      .send({ paymentId: p.id, amount: { value: 300, currency: 'USD' } });
    expect(partial.status).toBe(201);
    await eventually(async () => {
      await settle();
      return (await payment(p.id)).status === 'partially_refunded';
    });
    const rest = await app.http
      .post('/v1/refunds')
      .set(API)
      .set('Idempotency-Key', randomUUID())
      .send({ paymentId: p.id });
    expect(rest.status).toBe(201);
    await eventually(async () => {
      await settle();
      return (await payment(p.id)).status === 'refunded';
    });
    const refunds = (await session(sessionId)).acquiring_payments[0]?.refunds ?? [];
    expect(refunds.map((r) => r.amount_details.amount)).toEqual([300, 699]);
    expect(refunds.every((r) => r.status === 'accepted')).toBe(true);
  });
});

describe('Smart Glocal recurring', () => {
  it('CIT with a stored token: initiator client, return_url, 3DS again, captured', async () => {
    const first = await captured();
    const token = (await session(first.sessionId)).acquiring_payments[0]?.recurrent?.token;
    expect(token).toBeTruthy();
    const o = await order({ customerId: first.order.customerId, offerId: OFFERS.jpy, currency: 'JPY' });
    const started = (await pay(o.id, { type: 'recurrent', token: token! })).body as PaymentView;
    expect(started.status).toBe('pending');
    const waiting = await until(started.id, 'action_required');
    const sent = (await app.http.get('/sandbox/smart-glocal/requests')).body as {
      path: string;
      body?: { payment_details?: unknown; payment_options?: { return_url?: string } };
    }[];
    const init = sent.filter((r) => r.path === 'session/init/payment').pop();
    expect(init?.body?.payment_details).toEqual({
      type: 'recurrent',
      recurrent: { token: '[redacted]', initiator: 'client' },
    });
    expect(init?.body?.payment_options?.return_url).toContain(`/v1/payments/${started.id}/return`);
    await app.http.get(new URL(waiting.action!.url).pathname.replace(/$/, '/approve'));
    await until(started.id, 'captured');
  });

  it('a Cleeng renewal is a MIT with the stored token (initiator merchant), confirmed and captured on the test clock', async () => {
    const first = await captured();
    const reported = await eventually(async () => {
      const [p] = await cleengPaymentsForOrder(app, first.order.cleengOrderId);
      return p?.status === 'captured' ? p : undefined;
    });
    const subscription = (
      (await cleengState(app)).subscriptions as {
        subscriptionId: number;
        customerId: number;
        paymentDetailsId: number;
      }[]
    ).find((s) => String(s.customerId) === first.order.customerId);
    expect(subscription?.paymentDetailsId).toBe(reported.paymentDetailsId);
    await advanceClock(app, 31);
    const renewal = await eventually(async () => {
      await settle();
      const payments = (await cleengState(app)).payments.filter(
        (p) =>
          p.paymentOperation === 'recurring-payment' &&
          String((p as { subscriptionId?: unknown }).subscriptionId) === String(subscription?.subscriptionId),
      );
      return payments[0]?.status === 'captured' ? payments[0] : undefined;
    }, 20_000);
    expect(renewal.externalPaymentId).toMatch(/^ps_/);
    const s = await session(renewal.externalPaymentId!);
    expect(s.status).toBe('accepted');
    const init = (
      (await app.http.get('/sandbox/smart-glocal/requests')).body as {
        path: string;
        body?: { payment_details?: unknown; metadata?: { connector_reference?: string } };
      }[]
    ).find(
      (r) =>
        r.path === 'session/init/payment' &&
        r.body?.metadata?.connector_reference === s.metadata?.connector_reference,
    );
    expect(init?.body?.payment_details).toEqual({
      type: 'recurrent',
      recurrent: { token: '[redacted]', initiator: 'merchant' },
    });
  });

  it('a connector-managed subscription rebills the stored token through the same code', async () => {
    const first = await captured();
    const list = await app.http
      .get('/v1/payment-details')
      .set(API)
      .query({ customerId: first.order.customerId });
    const details = (list.body as { id: string; gateway: string }[]).find(
      (d) => d.gateway === 'smart-glocal',
    );
    expect(details).toBeTruthy();
    const now = new Date(((await app.http.get('/sandbox/clock')).body as { now: string }).now);
    const created = await app.http
      .post('/v1/subscriptions')
      .set(API)
      .set('Idempotency-Key', randomUUID())
      .send({
        customerId: first.order.customerId,
        gateway: 'smart-glocal',
        paymentDetailsId: details!.id,
        amount: { value: 1299, currency: 'USD' },
        interval: 'P1M',
        nextBillingAt: new Date(now.getTime() + 3_600_000).toISOString(),
      });
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    await advanceClock(app, 1);
    const charged = await eventually(async () => {
      await app.http.post('/ops/rebilling/run').set(OPERATOR);
      await settle();
      const sub = (await app.http.get(`/v1/subscriptions/${id}`).set(API)).body as {
        attempts?: { status: string; externalPaymentId?: string }[];
      };
      const attempt = sub.attempts?.[0];
      return attempt?.status === 'captured' ? attempt : undefined;
    }, 20_000);
    expect(charged.externalPaymentId).toMatch(/^ps_/);
    expect((await session(charged.externalPaymentId!)).acquiring_payments[0]?.amount_details.amount).toBe(
      1299,
    );
  });
});

describe('Smart Glocal free trial', () => {
  it('a zero-amount order is a zero-amount payment with recurrent: true: token stored, initial-free-transaction reported', async () => {
    const o = await order({ offerId: OFFERS.freeTrialUsd });
    expect(o.amount.value).toBe(0);
    const started = (await pay(o.id, sgCard(CARDS.approve))).body as PaymentView;
    expect(started.status).toBe('pending');
    const done = await until(started.id, 'captured');
    expect(done.amount.value).toBe(0);
    const s = await session(done.externalPaymentId!);
    expect(s.acquiring_payments[0]?.amount_details.amount).toBe(0);
    const reported = await eventually(async () => {
      const [p] = await cleengPaymentsForOrder(app, o.cleengOrderId);
      return p?.status === 'captured' ? p : undefined;
    });
    expect(reported.paymentOperation).toBe('initial-free-transaction');
    expect(reported.paymentDetailsId).toBeTruthy();
  });
});

describe('Smart Glocal tokens at rest', () => {
  it('after every flow above, no Smart Glocal token or card number is anywhere in the database or on operator routes', async () => {
    await settle();
    const tokens = ((await app.http.get('/sandbox/smart-glocal/sessions')).body as SgSession[])
      .map((s) => s.acquiring_payments[0]?.recurrent?.token)
      .filter((t): t is string => typeof t === 'string');
    expect(tokens.length).toBeGreaterThan(2);
    const secrets = [...tokens, CARDS.approve, CARDS.threeDS];
    const db = app.app.get(DataSource);
    const sealed: { n: number }[] = await db.query(
      `SELECT count(*)::int AS n FROM inbox_events WHERE source = 'smart-glocal' AND payload ? 'token'`,
    );
    expect(sealed[0]?.n).toBeGreaterThan(0);
    const tables: { table_name: string }[] = await db.query(
      `SELECT table_name FROM information_schema.tables
       WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
    );
    const leaks: string[] = [];
    for (const { table_name: table } of tables) {
      const rows: { row: string }[] = await db.query(
        `SELECT t::text AS row FROM "${table.replace(/"/g, '""')}" t`,
      );
      for (const { row } of rows) {
        leaks.push(
          ...secrets.filter((secret) => row.includes(secret)).map((secret) => `${table}: ${secret}`),
        );
      }
    }
    expect([...new Set(leaks)]).toEqual([]);
    for (const route of ['/ops/inbox?source=smart-glocal', '/ops/outbox']) {
      const text = JSON.stringify((await app.http.get(route).set(OPERATOR)).body);
      expect(secrets.filter((secret) => text.includes(secret))).toEqual([]);
    }
  });
});
