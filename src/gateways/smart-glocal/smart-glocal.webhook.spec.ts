import { generateKeyPairSync } from 'node:crypto';
import { WebhookMalformedError, WebhookUnauthenticatedError } from '../../inbox/webhook.errors';
import { signBody } from './smart-glocal.signature';
import { parseSmartGlocalWebhook } from './smart-glocal.webhook';

const sg = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PAYMENT_ID = '5b0f8a4e-1c1e-4f43-9a55-0d1d3c1f2a10';
const REFUND_ID = '9b0f8a4e-1c1e-4f43-9a55-0d1d3c1f2a11';

function session(payment: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    id: 'ps_3230',
    status: 'in_progress',
    metadata: { connector_reference: PAYMENT_ID, connector_attempt: `${PAYMENT_ID}:charge` },
    acquiring_payments: [
      {
        id: 'pm_2705',
        status: 'in_progress',
        amount_details: { amount: 10000, currency: 'usd' },
        ...payment,
      },
    ],
    ...extra,
  };
}

function parse(body: unknown, signature?: string) {
  const raw = Buffer.from(JSON.stringify(body));
  return parseSmartGlocalWebhook(
    { 'x-partner-sign': signature ?? signBody(raw, sg.privateKey) },
    raw,
    sg.publicKey,
  );
}

describe('parseSmartGlocalWebhook', () => {
  it('refuses a missing or wrong signature before reading the body', () => {
    const raw = Buffer.from('not json');
    expect(() => parseSmartGlocalWebhook({}, raw, sg.publicKey)).toThrow(WebhookUnauthenticatedError);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(() =>
      parse({ type: 'payment_finished', session: session({}) }, signBody('x', other.privateKey)),
    ).toThrow(WebhookUnauthenticatedError);
  });

  it('refuses an authentic body that is not {type, session: {id}} as malformed', () => {
    expect(() => parse({ type: 'payment_finished' })).toThrow(WebhookMalformedError);
    expect(() => parse([1, 2])).toThrow(WebhookMalformedError);
  });

  it('ready_to_confirm asks for confirmation of the amount, with our ids from metadata', () => {
    expect(parse({ type: 'ready_to_confirm', session: session({}) })).toEqual([
      {
        eventKey: 'ps_3230:pm_2705:ready_to_confirm',
        type: 'payment.confirmation_requested',
        rawType: 'ready_to_confirm',
        externalPaymentId: 'ps_3230',
        reference: PAYMENT_ID,
        attemptKey: `${PAYMENT_ID}:charge`,
        amount: { value: 10000, currency: 'USD' },
      },
    ]);
  });

  it('action_required carries the redirect for the front-end', () => {
    const [event] = parse({
      type: 'action_required',
      session: session({
        status: 'pending',
        customer_interaction: {
          type: 'redirect',
          redirect: { url: 'https://acs.example/3ds', method: 'POST', params: { PaReq: 'abc', MD: 'x' } },
        },
      }),
    });
    expect(event).toMatchObject({
      type: 'payment.action_required',
      action: {
        type: 'redirect',
        url: 'https://acs.example/3ds',
        method: 'POST',
        params: { PaReq: 'abc', MD: 'x' },
      },
    });
  });

  it('payment_finished succeeded is paid with the token and card; failed is refused with the mapped decline', () => {
    const [paid] = parse({
      type: 'payment_finished',
      session: session({
        status: 'succeeded',
        payment_details: {
          type: 'card',
          card: { brand: 'visa', last4: '4242', expiration_month: '5', expiration_year: '30' },
        },
        recurrent: { token: 'feda2b21', is_active: true },
        unknown_field: { nested: true },
      }),
    });
    expect(paid).toMatchObject({
      eventKey: 'ps_3230:pm_2705:payment_finished:succeeded',
      type: 'payment.paid',
      token: 'feda2b21',
      card: { variant: 'visa', lastCardFourDigits: '4242', cardExpirationDate: '05/2030' },
    });
    const [refused] = parse({
      type: 'payment_finished',
      session: session({ status: 'failed', error: { code: 'expired_card', description: 'Card expired' } }),
    });
    expect(refused).toMatchObject({
      type: 'payment.refused',
      decline: { code: 'PAY_CEX', rawCode: 'expired_card' },
    });
    const [unknown] = parse({
      type: 'payment_finished',
      session: session({ status: 'failed', error: { code: 'something_new' } }),
    });
    expect(unknown?.decline).toMatchObject({ code: 'PAY_DEC', rawCode: 'something_new' });
  });

  it('a resend has the same key (the inbox keeps one)', () => {
    const body = { type: 'payment_finished', session: session({ status: 'succeeded' }) };
    expect(parse(body)[0]?.eventKey).toBe(parse(body)[0]?.eventKey);
  });

  it('payment_refunded: one event per finished refund, our refund id as reference', () => {
    const events = parse({
      type: 'payment_refunded',
      session: session({
        status: 'succeeded',
        refunds: [
          {
            id: 'rf_1',
            status: 'accepted',
            amount_details: { amount: 300, currency: 'usd' },
            metadata: { connector_refund: REFUND_ID },
          },
          { id: 'rf_2', status: 'in_progress', amount_details: { amount: 700, currency: 'usd' } },
        ],
      }),
    });
    expect(events).toEqual([
      expect.objectContaining({
        eventKey: 'rf_1:accepted',
        type: 'refund.succeeded',
        reference: REFUND_ID,
        paymentReference: PAYMENT_ID,
        externalModificationId: 'rf_1',
        amount: { value: 300, currency: 'USD' },
        partial: true,
      }),
    ]);
  });

  it('unknown webhook types are authentic and ignored', () => {
    expect(parse({ type: 'ready_to_capture', session: session({}) })[0]?.type).toBe('ignored');
  });
});
