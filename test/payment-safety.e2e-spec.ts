import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { decline } from '../src/gateways/decline-codes';
import { OrderEntity } from '../src/orders/order.entity';
import { PaymentEntity } from '../src/payments/payment.entity';
import { PaymentStateService } from '../src/payments/payment-state.service';
import { UnknownOutcomeReconciler } from '../src/payments/unknown-outcome.reconciler';
import { RefundEntity } from '../src/refunds/refund.entity';
import { API_KEY, eventually, startTestApp, TestApp } from './support/test-app';
import {
  adyenLedger,
  CARDS,
  cleengPaymentsForOrder,
  createOrder,
  FAST_INBOX,
  pay,
  purchase,
  settle,
} from './support/flows';

const SHOPPER_PAGE = 'https://shop.example/payment-finished';

async function readPayment(
  app: TestApp,
  id: string,
): Promise<{ status: string; decline?: { code: string } }> {
  const res = await app.http.get(`/v1/payments/${id}`).set('X-Api-Key', API_KEY);
  return res.body as { status: string; decline?: { code: string } };
}

async function statusBecomes(app: TestApp, id: string, status: string, timeoutMs = 15_000) {
  return eventually(async () => {
    const read = await readPayment(app, id);
    return read.status === status ? read : undefined;
  }, timeoutMs);
}

/** Starts a 3DS payment and approves the challenge; returns the return-URL path the browser is sent to. */
async function approvedChallenge(app: TestApp) {
  const order = await createOrder(app);
  const res = await pay(app, order.id, CARDS.threeDS);
  expect(res.body.status).toBe('action_required');
  const challenge = new URL(res.body.action.url as string);
  const approved = await app.http.get(`${challenge.pathname}/approve`).redirects(0);
  const back = new URL(approved.headers.location as string);
  return { order, paymentId: res.body.id as string, returnPath: `${back.pathname}${back.search}` };
}

/** Issue 8 item 2: decisions about an unknown payment are taken on a fresh, locked read. */
describe('payment safety: reconciler decisions', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({
      ...FAST_INBOX,
      // no background pass here (it would spend the injected faults on rows other suites left open): the
      // test plays a pass by hand
      RECONCILE_INTERVAL_MS: '3600000',
      RECONCILE_UNKNOWN_AFTER_MS: '0',
      RECONCILE_CANCEL_AFTER_MS: '3600000',
    });
  });
  afterAll(async () => {
    await app.close();
  });
  afterEach(async () => {
    await app.http.post('/sandbox/adyen/webhooks/resume');
    await app.http.delete('/sandbox/faults/adyen');
  });

  it('a late AUTHORISATION during a pass: the stale copy never turns the captured payment rejected', async () => {
    await app.http.post('/sandbox/adyen/webhooks/pause');
    await app.http.post('/sandbox/faults/adyen').send({ hangNext: 3, hangMs: 2000 });
    const order = await createOrder(app);
    const res = await pay(app, order.id);
    expect(res.body.status).toBe('unknown');
    // the pass loaded its batch ...
    const stale = await app.app
      .get(DataSource)
      .getRepository(PaymentEntity)
      .findOneByOrFail({ id: res.body.id });
    // ... then the AUTHORISATION arrives and the payment is captured while the pass is busy elsewhere
    await app.http.delete('/sandbox/faults/adyen');
    await app.http.post('/sandbox/adyen/webhooks/resume');
    await statusBecomes(app, res.body.id as string, 'captured');
    // the pass reaches the payment past its cancel deadline, holding the copy it loaded
    stale.createdAt = new Date(0);
    const after = await app.app.get(UnknownOutcomeReconciler).reconcile(stale);

    expect(after.status).toBe('captured');
    expect((await readPayment(app, res.body.id as string)).status).toBe('captured');
    await settle(app);
    const reported = await cleengPaymentsForOrder(app, order.cleengOrderId);
    expect(reported.map((p) => p.status)).toEqual(['captured']);
    const ledger = await adyenLedger(app, res.body.id as string);
    expect(ledger.payments.map((p) => p.status)).toEqual(['captured']);
  });

  it('reject() leaves a captured payment alone; only a CAPTURE_FAILED correction moves it', async () => {
    const { payment } = await purchase(app);
    const state = app.app.get(PaymentStateService);
    const stale = await app.app
      .get(DataSource)
      .getRepository(PaymentEntity)
      .findOneByOrFail({ id: payment.id });
    const after = await state.reject(stale, decline('GW_TIMEOUT'));
    expect(after.status).toBe('captured');

    await app.http.post(`/sandbox/adyen/payments/${payment.externalPaymentId}/fail-capture`).expect(200);
    const corrected = await statusBecomes(app, payment.id, 'rejected');
    expect(corrected.decline?.code).toBe('GW_ERROR');
  });
});

/** Issue 8 item 3: 3DS completion is idempotent, survives a lost or refused details answer, and runs once. */
describe('payment safety: 3DS completion', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({
      ...FAST_INBOX,
      RECONCILE_INTERVAL_MS: '200',
      SHOPPER_RETURN_URL: SHOPPER_PAGE,
    });
  });
  afterAll(async () => {
    await app.close();
  });
  afterEach(async () => {
    await app.http.post('/sandbox/adyen/webhooks/resume');
    await app.http.delete('/sandbox/faults/adyen');
  });

  it('the return URL only redirects the browser: nothing about the payment is revealed', async () => {
    const { paymentId, returnPath } = await approvedChallenge(app);
    const back = await app.http.get(returnPath).redirects(0);
    expect(back.status).toBe(303);
    expect(back.headers.location).toBe(`${SHOPPER_PAGE}?paymentId=${paymentId}`);
    expect(back.text ?? '').not.toMatch(/captured|authorised|pspReference|externalPaymentId/);
    await statusBecomes(app, paymentId, 'captured');
    // a stranger with a bogus redirectResult or an unknown id gets the same redirect and changes nothing
    const bogus = await app.http.get(`/v1/payments/${paymentId}/return?redirectResult=forged`).redirects(0);
    expect(bogus.status).toBe(303);
    const unknown = await app.http.get(`/v1/payments/${randomUUID()}/return?redirectResult=x`).redirects(0);
    expect(unknown.status).toBe(303);
    expect((await readPayment(app, paymentId)).status).toBe('captured');
  });

  it('a details answer lost in a timeout is replayed under its Idempotency-Key: captured, not rejected', async () => {
    const { order, paymentId, returnPath } = await approvedChallenge(app);
    // Adyen processes the details call, the answer never arrives; the retry must not redeem again
    await app.http.post('/sandbox/faults/adyen').send({ hangNext: 1, hangMs: 2500 });
    const back = await app.http.get(returnPath).redirects(0);
    expect(back.status).toBe(303);
    await statusBecomes(app, paymentId, 'captured');
    await settle(app);
    const reported = await cleengPaymentsForOrder(app, order.cleengOrderId);
    expect(reported.map((p) => p.status)).toEqual(['captured']);
    const ledger = await adyenLedger(app, paymentId);
    expect(ledger.payments.map((p) => p.status)).toEqual(['captured']);
  });

  it('a 4xx on details does not reject: the payment keeps waiting and the next try completes it', async () => {
    const { paymentId, returnPath } = await approvedChallenge(app);
    await app.http.post('/sandbox/faults/adyen').send({ failNext: 1, failStatus: 422 });
    const first = await app.http.get(returnPath).redirects(0);
    expect(first.status).toBe(303);
    expect((await readPayment(app, paymentId)).status).toBe('action_required');
    const again = await app.http.get(returnPath).redirects(0);
    expect(again.status).toBe(303);
    await statusBecomes(app, paymentId, 'captured');
  });

  it('concurrent reloads of the return URL complete the payment once', async () => {
    const { order, paymentId, returnPath } = await approvedChallenge(app);
    const answers = await Promise.all([
      app.http.get(returnPath).redirects(0),
      app.http.get(returnPath).redirects(0),
      app.http.get(returnPath).redirects(0),
    ]);
    expect(answers.map((a) => a.status)).toEqual([303, 303, 303]);
    await statusBecomes(app, paymentId, 'captured');
    await settle(app);
    const reported = await cleengPaymentsForOrder(app, order.cleengOrderId);
    expect(reported.map((p) => p.status)).toEqual(['captured']);
    const ledger = await adyenLedger(app, paymentId);
    expect(ledger.payments).toHaveLength(1);
    expect(ledger.payments[0]?.status).toBe('captured');
  });

  it('a later AUTHORISATION settles a payment whose details call never answered', async () => {
    const { paymentId, returnPath } = await approvedChallenge(app);
    await app.http.post('/sandbox/adyen/webhooks/pause');
    await app.http.post('/sandbox/faults/adyen').send({ hangNext: 3, hangMs: 2500 });
    const back = await app.http.get(returnPath).redirects(0);
    expect(back.status).toBe(303);
    expect((await readPayment(app, paymentId)).status).toBe('unknown');
    await app.http.delete('/sandbox/faults/adyen');
    await app.http.post('/sandbox/adyen/webhooks/resume');
    await statusBecomes(app, paymentId, 'captured');
  });
});

/** Issue 8 item 4: nothing stays open forever, and rows that cannot be resolved yet do not block the rest. */
describe('payment safety: stuck states', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({
      ...FAST_INBOX,
      RECONCILE_INTERVAL_MS: '200',
      RECONCILE_UNKNOWN_AFTER_MS: '0',
      RECONCILE_CANCEL_AFTER_MS: '2000',
      PAYMENT_ACTION_EXPIRY_MS: '2000',
    });
  });
  afterAll(async () => {
    await app.close();
  });

  it('an abandoned 3DS payment expires: voided at Adyen, rejected, and the order can be paid again', async () => {
    const order = await createOrder(app);
    const res = await pay(app, order.id, CARDS.threeDS);
    expect({ status: res.status, body: res.body as unknown }).toMatchObject({
      status: 201,
      body: { status: 'action_required' },
    });
    const expired = await statusBecomes(app, res.body.id as string, 'rejected');
    expect(expired.decline?.code).toBe('PAY_DEC');
    const ledger = await adyenLedger(app, res.body.id as string);
    expect(ledger.payments.map((p) => p.status)).toEqual(['cancelled']);

    // the shopper comes back too late: the challenge no longer authorises anything
    const challenge = new URL(res.body.action.url as string);
    const approved = await app.http.get(`${challenge.pathname}/approve`).redirects(0);
    const back = new URL(approved.headers.location as string);
    await app.http.get(`${back.pathname}${back.search}`).redirects(0);
    expect((await readPayment(app, res.body.id as string)).status).toBe('rejected');

    const retry = await pay(app, order.id, CARDS.approve);
    expect(retry.status).toBe(201);
    expect(retry.body.status).toBe('captured');
  });

  it('a payment left pending by a crash is cancelled by reference after the grace period', async () => {
    const order = await createOrder(app);
    const db = app.app.get(DataSource);
    const orderRow = await db.getRepository(OrderEntity).findOneByOrFail({ id: order.id });
    // the process inserted the payment and died before (or while) calling the gateway
    const stuck = await app.app
      .get(PaymentStateService)
      .insertPending(orderRow, 'initial-payment', { flow: 'initial' });
    const blocked = await pay(app, order.id, CARDS.approve);
    expect(blocked.status).toBe(409);

    // the grace is at least twice the longest live request (3 tries x GATEWAY_TIMEOUT_MS 1500 + backoff)
    const resolved = await statusBecomes(app, stuck.id, 'rejected', 30_000);
    expect(resolved.decline?.code).toBe('GW_TIMEOUT');
    const retry = await pay(app, order.id, CARDS.approve);
    expect(retry.status).toBe(201);
    expect(retry.body.status).toBe('captured');
  });

  it('a refund stuck in requested is sent again under its key and settles', async () => {
    const { payment } = await purchase(app);
    const db = app.app.get(DataSource);
    const refunds = db.getRepository(RefundEntity);
    // the process reserved the amount and died before the gateway answered
    const stuck = await refunds.save(
      refunds.create({
        paymentId: payment.id,
        amountMinor: 100,
        currency: 'USD',
        status: 'requested',
        reason: null,
        source: 'api',
        sourceKey: `stuck:${randomUUID()}`,
        externalRefundId: null,
        lastError: null,
      }),
    );
    await db.query('UPDATE payments SET refunded_minor = refunded_minor + 100 WHERE id = $1', [payment.id]);
    const settled = await eventually(async () => {
      const row = await refunds.findOneByOrFail({ id: stuck.id });
      return row.status === 'succeeded' ? row : undefined;
    }, 15_000);
    expect(settled.externalRefundId).toBeTruthy();
    const paid = await db.getRepository(PaymentEntity).findOneByOrFail({ id: payment.id });
    expect(paid.refundedMinor).toBe(100);
  });

  it('rows that cannot be resolved yet are checked later with backoff, not first in every pass', async () => {
    const order = await createOrder(app);
    const db = app.app.get(DataSource);
    const orderRow = await db.getRepository(OrderEntity).findOneByOrFail({ id: order.id });
    await app.http.post('/sandbox/adyen/webhooks/pause');
    try {
      // a customer payment that is merely waiting for its notification, still inside its grace period
      const waiting = await app.app
        .get(PaymentStateService)
        .update(
          (
            await app.app
              .get(PaymentStateService)
              .insertPending(orderRow, 'initial-payment', { flow: 'initial' })
          ).id,
          'unknown',
          { gatewayState: { flow: 'initial', pendingOperation: 'authorise' } },
        );
      const checks = await eventually(async () => {
        const rows: { next_check_at: Date; created_at: Date; check_attempts: number }[] = await db.query(
          'SELECT next_check_at, created_at, check_attempts FROM payments WHERE id = $1',
          [waiting.id],
        );
        return rows[0] && rows[0].check_attempts >= 2 ? rows[0] : undefined;
      }, 10_000);
      // each check that could not resolve it moved its next check forward
      expect(new Date(checks.next_check_at).getTime()).toBeGreaterThan(
        new Date(checks.created_at).getTime() + 200,
      );
    } finally {
      await app.http.post('/sandbox/adyen/webhooks/resume');
    }
  });
});
