import { createHash, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { stableStringify } from '../src/common/idempotency/idempotency.service';
import { API_KEY, startTestApp, TestApp } from './support/test-app';
import { card, CARDS, newCustomerId, OFFERS, purchase, settle } from './support/flows';

// fresh clients per run: their key "1" must be new even on a database kept between runs
const CLIENT_A = `client-a-${randomUUID()}`;
const CLIENT_B = `client-b-${randomUUID()}`;

async function customerToken(app: TestApp, customerId: string): Promise<string> {
  const res = await app.http.post('/sandbox/auth/token').send({ customerId });
  return res.body.token as string;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Idempotency-Key belongs to the caller: two callers reusing a key never see each other's results. */
describe('Idempotency-Key scoped to the caller', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ API_KEYS: `${API_KEY},${CLIENT_A},${CLIENT_B}` });
  });
  afterAll(async () => {
    await app.close();
  });

  it('two API keys reusing key "1" get two refunds, each of its own payment', async () => {
    const first = await purchase(app);
    const second = await purchase(app);
    const refund = (apiKey: string, paymentId: string, value: number) =>
      app.http
        .post('/v1/refunds')
        .set('X-Api-Key', apiKey)
        .set('Idempotency-Key', '1')
        .send({ paymentId, amount: { value, currency: 'USD' } });

    const a = await refund(CLIENT_A, first.payment.id, 100);
    const b = await refund(CLIENT_B, second.payment.id, 200);
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.body.id).not.toBe(a.body.id);
    expect(b.body).toMatchObject({ paymentId: second.payment.id, amount: { value: 200, currency: 'USD' } });

    // each caller's replay still returns its own first refund
    const replayB = await refund(CLIENT_B, second.payment.id, 200);
    expect(replayB.body.id).toBe(b.body.id);
    await settle(app);
    const db = app.app.get(DataSource);
    const rows = await db.query<{ payment_id: string; v: number }[]>(
      `SELECT payment_id, amount_minor::int AS v FROM refunds WHERE payment_id = ANY($1::uuid[]) ORDER BY v`,
      [[first.payment.id, second.payment.id]],
    );
    expect(rows).toEqual([
      { payment_id: first.payment.id, v: 100 },
      { payment_id: second.payment.id, v: 200 },
    ]);
  });

  it('a customer JWT and an API key reusing a key create separate orders and payments', async () => {
    const me = newCustomerId();
    const token = await customerToken(app, me);
    const other = newCustomerId();
    const key = `shared-${randomUUID()}`;
    const orderBody = (customerId: string) => ({
      customerId,
      offerId: OFFERS.monthlyUsd,
      currency: 'USD',
      country: 'US',
      gateway: 'adyen',
    });
    const mine = await app.http
      .post('/v1/orders')
      .set('Authorization', `Bearer ${token}`)
      .set('Idempotency-Key', key)
      .send(orderBody(me));
    const theirs = await app.http
      .post('/v1/orders')
      .set('X-Api-Key', API_KEY)
      .set('Idempotency-Key', key)
      .send(orderBody(other));
    expect(mine.status).toBe(201);
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(mine.body.id);
    expect(theirs.body.cleengOrderId).not.toBe(mine.body.cleengOrderId);
    expect(theirs.body.customerId).toBe(other);

    const paidMine = await app.http
      .post('/v1/payments')
      .set('Authorization', `Bearer ${token}`)
      .set('Idempotency-Key', key)
      .send({ orderId: mine.body.id, paymentMethod: card(CARDS.approve) });
    const paidTheirs = await app.http
      .post('/v1/payments')
      .set('X-Api-Key', API_KEY)
      .set('Idempotency-Key', key)
      .send({ orderId: theirs.body.id, paymentMethod: card(CARDS.approve) });
    expect(paidMine.status).toBe(201);
    expect(paidTheirs.status).toBe(201);
    expect(paidTheirs.body.id).not.toBe(paidMine.body.id);
    expect(paidTheirs.body.orderId).toBe(theirs.body.id);

    // same caller, same key, different body: still a conflict
    const conflict = await app.http
      .post('/v1/orders')
      .set('X-Api-Key', API_KEY)
      .set('Idempotency-Key', key)
      .send(orderBody(newCustomerId()));
    expect(conflict.status).toBe(409);
    expect(conflict.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('stores no card number, nor anything a plain SHA-256 could match to one', async () => {
    const order = await app.http.post('/v1/orders').set('X-Api-Key', API_KEY).send({
      customerId: newCustomerId(),
      offerId: OFFERS.monthlyUsd,
      currency: 'USD',
      country: 'US',
      gateway: 'adyen',
    });
    const body = { orderId: order.body.id as string, paymentMethod: card(CARDS.approve) };
    const key = randomUUID();
    const paid = await app.http
      .post('/v1/payments')
      .set('X-Api-Key', API_KEY)
      .set('Idempotency-Key', key)
      .send(body);
    expect(paid.status).toBe(201);
    const replay = await app.http
      .post('/v1/payments')
      .set('X-Api-Key', API_KEY)
      .set('Idempotency-Key', key)
      .send(body);
    expect(replay.body.id).toBe(paid.body.id);

    const db = app.app.get(DataSource);
    const rows = await db.query<{ row: string }[]>(
      `SELECT row_to_json(r)::text AS row FROM idempotency_records r WHERE key = $1`,
      [key],
    );
    expect(rows).toHaveLength(1);
    const stored = rows.map((r) => r.row).join('\n');
    expect(stored).not.toContain(CARDS.approve);
    expect(stored).not.toContain(sha256(CARDS.approve));
    // the request fingerprint must not be an unkeyed hash of the body (brute-forceable to the PAN)
    expect(stored).not.toContain(sha256(stableStringify({ params: {}, body })));
    // nor is the caller named by an unkeyed hash of its API key
    expect(stored).not.toContain(sha256(API_KEY).slice(0, 12));
  });
});
