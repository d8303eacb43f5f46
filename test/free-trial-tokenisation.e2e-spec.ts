import { startTestApp, eventually, TestApp } from './support/test-app';
import {
  adyenLedger,
  CARDS,
  cleengPaymentsForOrder,
  cleengState,
  createOrder,
  OFFERS,
  pay,
} from './support/flows';

/** Scenario 2 of the seed: the gateway cannot do zero-value auth, so the token comes from tokenisation. */
describe('free trial without zero-value auth (ADYEN_ZERO_AUTH=false)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ ADYEN_ZERO_AUTH: 'false' });
  });
  afterAll(async () => {
    await app.close();
  });

  it('tokenises without any payment at the gateway and still reports the zero payment to Cleeng', async () => {
    const order = await createOrder(app, { offerId: OFFERS.freeTrialUsd });
    expect(order.amount.value).toBe(0);
    const res = await pay(app, order.id);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      status: 'captured',
      operation: 'initial-free-transaction',
      amount: { value: 0 },
    });
    // no payment was created at the gateway: the external id is our own payment id
    expect(res.body.externalPaymentId).toBe(res.body.id);
    expect((await adyenLedger(app, res.body.id)).payments).toHaveLength(0);
    const tokens = await app.http
      .get('/sandbox/adyen/stored-payment-methods')
      .query({ shopperReference: `cleeng-customer-${order.customerId}` });
    expect(JSON.stringify(tokens.body)).toContain('1111');

    const reported = await eventually(async () => {
      const payments = await cleengPaymentsForOrder(app, order.cleengOrderId);
      return payments.length > 0 ? payments : undefined;
    });
    expect(reported[0]).toMatchObject({ status: 'captured', paymentOperation: 'initial-free-transaction' });
    const state = await cleengState(app);
    const details = state.paymentDetails.find((d) => d.id === reported[0]?.paymentDetailsId);
    expect(details?.token).toBeTruthy();
    expect(details?.paymentMethodSpecificParams).toMatchObject({
      lastCardFourDigits: '1111',
      cardExpirationDate: '03/2030',
    });
  });

  it('a card that cannot be stored is a 422 and nothing is reported', async () => {
    const order = await createOrder(app, { offerId: OFFERS.freeTrialUsd });
    const res = await pay(app, order.id, CARDS.expired);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('GATEWAY_REQUEST_INVALID');
    await new Promise((r) => setTimeout(r, 400));
    expect(await cleengPaymentsForOrder(app, order.cleengOrderId)).toHaveLength(0);
  });

  it('paid orders still authorise and capture normally', async () => {
    const order = await createOrder(app);
    const res = await pay(app, order.id);
    expect(res.body.status).toBe('captured');
  });
});
