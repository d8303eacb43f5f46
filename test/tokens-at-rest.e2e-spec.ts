import { DataSource } from 'typeorm';
import { API_KEY, startTestApp, TestApp } from './support/test-app';
import {
  advanceClock,
  card,
  CARDS,
  cleengState,
  createOrder,
  FAST_INBOX,
  OFFERS,
  OPERATOR,
  pay,
  purchase,
  settle,
} from './support/flows';

const UPDATED_CARD = '5555555555554444';

/**
 * Runs every flow that carries a recurring token, then searches every column of every table and
 * every operator route for the plaintext tokens the sandbox issued and for the card numbers used.
 */
describe('recurring tokens and card numbers are never at rest or shown in plaintext', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ ...FAST_INBOX });
  });
  afterAll(async () => {
    await app.close();
  });

  it('purchase, Cleeng renewal, free trial and payment-details update leave no plaintext token anywhere', async () => {
    // purchase of a subscription offer: stored for recurring (AUTHORISATION + RECURRING_CONTRACT carry the token)
    const bought = await purchase(app);
    // Cleeng renewal: subscriptionReadyForPayment* carries data.token
    await advanceClock(app, 31);
    // free trial: zero-amount tokenisation
    const trial = await pay(app, (await createOrder(app, { offerId: OFFERS.freeTrialUsd })).id);
    expect(trial.body.status).toBe('captured');
    // payment-details update with a new card
    const updated = await app.http
      .post('/v1/payment-details')
      .set('X-Api-Key', API_KEY)
      .send({
        customerId: bought.order.customerId,
        gateway: 'adyen',
        paymentMethod: card(UPDATED_CARD),
        currency: 'USD',
      });
    expect(updated.status).toBe(201);
    await settle(app);

    const adyenTokens = (
      (await app.http.get('/sandbox/adyen/stored-payment-methods')).body as { id: string }[]
    ).map((t) => t.id);
    const cleengTokens = (await cleengState(app)).paymentDetails.map((d) => d.token);
    const tokens = [...new Set([...adyenTokens, ...cleengTokens])];
    expect(tokens.length).toBeGreaterThanOrEqual(3);
    const secrets = [...tokens, CARDS.approve, UPDATED_CARD];

    // the renewal webhook really carried a token and was stored, so the search below means something
    const db = app.app.get(DataSource);
    const renewals: { n: number }[] = await db.query(
      `SELECT count(*)::int AS n FROM inbox_events WHERE source = 'cleeng' AND status = 'done'
         AND event_type ILIKE 'subscriptionReadyForPayment%' AND payload->'data' ? 'token'`,
    );
    expect(renewals[0]?.n).toBeGreaterThan(0);
    const tokenEvents: { n: number }[] = await db.query(
      `SELECT count(*)::int AS n FROM inbox_events WHERE source = 'adyen' AND payload ? 'token'`,
    );
    expect(tokenEvents[0]?.n).toBeGreaterThan(0);

    const tables: { table_name: string }[] = await db.query(
      `SELECT table_name FROM information_schema.tables
       WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
    );
    expect(tables.map((t) => t.table_name)).toEqual(
      expect.arrayContaining(['inbox_events', 'outbox_messages', 'payment_details', 'payments']),
    );
    const leaks: string[] = [];
    for (const { table_name: table } of tables) {
      const rows: { row: string }[] = await db.query(
        `SELECT t::text AS row FROM "${table.replace(/"/g, '""')}" t`,
      );
      for (const { row } of rows) {
        for (const secret of secrets) {
          if (row.includes(secret)) {
            leaks.push(`${table}: ${secret}`);
          }
        }
      }
    }
    expect([...new Set(leaks)]).toEqual([]);

    const routes = [
      '/ops/inbox',
      '/ops/inbox?source=cleeng',
      '/ops/inbox?source=adyen',
      '/ops/outbox',
      '/ops/outbox?status=delivered',
    ];
    for (const route of routes) {
      const res = await app.http.get(route).set(OPERATOR);
      expect(res.status).toBe(200);
      const text = JSON.stringify(res.body);
      expect(text.length).toBeGreaterThan(2);
      for (const secret of secrets) {
        expect({ route, leaked: text.includes(secret) }).toEqual({ route, leaked: false });
      }
    }
  });
});
