import { randomUUID } from 'node:crypto';
import { API_KEY, captureLogs, eventually, startTestApp, TestApp } from './support/test-app';
import { CARDS, card, cleengPaymentsForOrder, cleengState, createOrder, OFFERS, pay } from './support/flows';

/**
 * Runs the flows at trace level and checks that nothing secret ever reaches the logs, with the services' lines
 * bound to their request (LOG_REQUEST_CONTEXT) as an operator chasing one call would run it.
 */
describe('logs never contain card data, tokens or secrets', () => {
  let app: TestApp;
  const { destination, lines } = captureLogs();

  beforeAll(async () => {
    app = await startTestApp(
      { LOG_LEVEL: 'trace', LOG_REQUEST_CONTEXT: 'true' },
      { logDestination: destination },
    );
  });
  afterAll(async () => {
    await app.close();
  });

  it('purchase, decline, 3DS and free trial leave no secret in the logs', async () => {
    const order = await createOrder(app);
    const paid = await pay(app, order.id);
    expect(paid.body.status).toBe('captured');
    await pay(app, (await createOrder(app)).id, CARDS.declined);
    await pay(app, (await createOrder(app, { offerId: OFFERS.freeTrialUsd })).id);
    const threeDS = await pay(app, (await createOrder(app)).id, CARDS.threeDS);
    const challenge = new URL(threeDS.body.action.url as string);
    const approved = await app.http.get(`${challenge.pathname}/approve`).redirects(0);
    const redirectResult =
      new URL(approved.headers.location as string).searchParams.get('redirectResult') ?? '';
    const token = (await app.http.post('/sandbox/auth/token').send({ customerId: order.customerId })).body
      .token as string;
    await app.http
      .post(`/v1/payments/${threeDS.body.id}/complete`)
      .set('Authorization', `Bearer ${token}`)
      .send({ details: { redirectResult } });
    await app.http
      .post('/v1/payments')
      .set('X-Api-Key', API_KEY)
      .set('Idempotency-Key', randomUUID())
      .send({ orderId: order.id, paymentMethod: card(CARDS.approve) });

    await eventually(async () => (await cleengPaymentsForOrder(app, order.cleengOrderId)).length > 0);
    const recurringTokens = (await cleengState(app)).paymentDetails.map((d) => d.token);
    expect(recurringTokens.length).toBeGreaterThan(0);
    const log = lines.join('\n');
    expect(lines.length).toBeGreaterThan(20); // the sink really received the request and client logs

    const secrets = [
      CARDS.approve,
      CARDS.declined,
      CARDS.threeDS,
      '"737"',
      API_KEY,
      'sandbox-publisher-token',
      token,
      redirectResult,
      ...recurringTokens,
    ];
    for (const secret of secrets) {
      if (log.includes(secret)) {
        console.log(lines.filter((l) => l.includes(secret)).slice(0, 2));
      }
      expect({ secret, found: log.includes(secret) }).toEqual({ secret, found: false });
    }

    // one line per API request, and the services' lines written while serving one carry its binding
    const parsed = lines.map(
      (l) =>
        JSON.parse(l) as {
          msg?: string;
          context?: string;
          req?: { id?: number; method?: string; url?: string };
        },
    );
    const paymentLines = parsed.filter(
      (l) => l.msg === 'request completed' && l.req?.method === 'POST' && l.req.url === '/v1/payments',
    );
    expect(paymentLines.length).toBeGreaterThanOrEqual(5);
    expect(paymentLines[0]).toMatchObject({
      req: { id: expect.any(Number) as number },
      res: { statusCode: 201 },
    });
    const inRequest = parsed.filter((l) => l.context !== undefined && l.req?.id !== undefined);
    expect(inRequest.length).toBeGreaterThan(0);
    expect(
      inRequest.every((l) => parsed.some((r) => r.msg === 'request completed' && r.req?.id === l.req?.id)),
    ).toBe(true);
  });
});
