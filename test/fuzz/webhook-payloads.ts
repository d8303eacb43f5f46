import { createHmac, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { signAdyenItem } from '../../sandbox/adyen/adyen-hmac';
import { SANDBOX_SECRETS } from '../../sandbox/sandbox-settings';
import { anyValue, hostileString, nearMiss, toJsonText } from './fuzz-values';

/**
 * Webhook bodies for the fuzzer, each either validly signed/authenticated with the sandbox secrets (so the
 * app gets past verification and must cope with the malformed payload) or with a bad/missing signature.
 */
export interface WebhookCase {
  signed: boolean;
  headers: Record<string, string>;
  body: string;
}

const CLEENG_SIGNATURE_HEADER = 'x-cleeng-signature';
const JSON_HEADERS = { 'content-type': 'application/json' };

const cleengSign = (body: string, secret: string = SANDBOX_SECRETS.cleengWebhookSecret): string =>
  createHmac('sha256', secret).update(body).digest('hex');

const CLEENG_VALID: Record<string, unknown>[] = [
  {
    topic: 'subscriptionReadyForPaymentAuthorisation',
    data: {
      subscriptionId: 912345678,
      customerId: 927751142,
      offerId: 'S100000001_US',
      paymentMethodId: 101,
    },
  },
  {
    topic: 'subscriptionReadyForPaymentCapture',
    data: { subscriptionId: 912345678, customerId: 927751142, offerId: 'S100000001_US', paymentId: 123 },
  },
  {
    topic: 'subscriptionReadyForTermination',
    data: {
      subscriptionId: 912345678,
      customerId: 927751142,
      offerId: 'S100000001_US',
      paymentMethodId: 101,
    },
  },
  {
    topic: 'paymentDetailsDeactivated',
    data: { paymentDetailsId: 55, customerId: 927751142, paymentMethodId: 101 },
  },
  {
    topic: 'refundPayment',
    data: {
      paymentId: 123,
      externalPaymentId: 'PSP0000000000001',
      orderId: 456,
      amount: 9.99,
      currency: 'USD',
      customerId: 927751142,
      paymentMethodId: 101,
      reason: 'fuzz',
    },
  },
  {
    topic: 'capturePayment',
    data: {
      paymentId: 123,
      externalPaymentId: 'PSP0000000000001',
      orderId: 456,
      amount: 9.99,
      currency: 'USD',
      paymentMethodId: 101,
    },
  },
].map((v) => ({ broadcasterId: 123456789, ...v }));

/** A payload: near-miss of a valid one (most), any JSON, or text that is not JSON. */
function payload(valids: Record<string, unknown>[]): fc.Arbitrary<string> {
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc
        .constantFrom(...valids)
        .chain((v) => nearMiss(v))
        .map(toJsonText),
    },
    { weight: 2, arbitrary: anyValue.map(toJsonText) },
    { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 100 }), hostileString) },
  );
}

const badSecret = fc.oneof(
  fc.constant<string | undefined>(undefined),
  fc.constantFrom('', 'deadbeef', 'not-hex!', '0'.repeat(64), 'x'.repeat(8000)),
  fc.string({ maxLength: 80 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
);

export const cleengWebhook: fc.Arbitrary<WebhookCase> = fc.oneof(
  payload(CLEENG_VALID).map((body) => ({
    signed: true,
    headers: { ...JSON_HEADERS, [CLEENG_SIGNATURE_HEADER]: cleengSign(body) },
    body,
  })),
  fc.tuple(payload(CLEENG_VALID), fc.oneof(badSecret, fc.constant('wrong-secret'))).map(([body, bad]) => ({
    signed: false,
    headers: {
      ...JSON_HEADERS,
      ...(bad === undefined
        ? {}
        : { [CLEENG_SIGNATURE_HEADER]: bad === 'wrong-secret' ? cleengSign(body, 'wrong-secret') : bad }),
    },
    body,
  })),
);

const ADYEN_ITEM: Record<string, unknown> = {
  pspReference: 'FUZZ000000000001',
  merchantAccountCode: SANDBOX_SECRETS.adyenMerchantAccount,
  merchantReference: randomUUID(),
  amount: { value: 999, currency: 'USD' },
  eventCode: 'AUTHORISATION',
  eventDate: '2026-12-01T12:00:00+01:00',
  success: 'true',
  paymentMethod: 'visa',
  reason: '',
  additionalData: {},
};
const ADYEN_VALID_ITEMS: Record<string, unknown>[] = [
  'AUTHORISATION',
  'CAPTURE',
  'CAPTURE_FAILED',
  'REFUND',
  'REFUND_FAILED',
  'CANCELLATION',
  'CHARGEBACK',
  'RECURRING_CONTRACT',
].map((eventCode) => ({ ...ADYEN_ITEM, eventCode, originalReference: 'FUZZ000000000000' }));

/** Signs the item as Adyen would; an item the signer cannot render (cyclic depth) goes unsigned. */
function withSignature(item: unknown, hexKey: string | undefined): unknown {
  if (typeof item !== 'object' || item === null || Array.isArray(item) || hexKey === undefined) {
    return item;
  }
  const record = item as Record<string, unknown>;
  let hmacSignature: string;
  try {
    hmacSignature = signAdyenItem(record, hexKey);
  } catch {
    return item;
  }
  const additionalData =
    typeof record.additionalData === 'object' && record.additionalData !== null ? record.additionalData : {};
  return { ...record, additionalData: { ...additionalData, hmacSignature } };
}

const adyenItem = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...ADYEN_VALID_ITEMS).chain((v) => nearMiss(v)) },
  { weight: 1, arbitrary: anyValue },
);

const WRONG_ADYEN_KEY = '00'.repeat(32);

function adyenEnvelope(signedWith: string | undefined): fc.Arbitrary<string> {
  const items = fc
    .array(adyenItem, { minLength: 1, maxLength: 3 })
    .map((list) => list.map((item) => ({ NotificationRequestItem: withSignature(item, signedWith) })));
  return fc.oneof(
    {
      weight: 5,
      arbitrary: items.map((notificationItems) => toJsonText({ live: 'false', notificationItems })),
    },
    {
      weight: 2,
      arbitrary: items.chain((notificationItems) =>
        nearMiss({ live: 'false', notificationItems }).map(toJsonText),
      ),
    },
    { weight: 1, arbitrary: anyValue.map(toJsonText) },
    { weight: 1, arbitrary: fc.string({ maxLength: 100 }) },
  );
}

export const adyenWebhook: fc.Arbitrary<WebhookCase> = fc.oneof(
  adyenEnvelope(SANDBOX_SECRETS.adyenHmacKey).map((body) => ({ signed: true, headers: JSON_HEADERS, body })),
  fc
    .constantFrom(undefined, WRONG_ADYEN_KEY)
    .chain((key) => adyenEnvelope(key))
    // a body with no item to sign would pass as "signed": only bodies with at least one item are bad-signature cases
    .filter((body) => body.includes('NotificationRequestItem'))
    .map((body) => ({ signed: false, headers: JSON_HEADERS, body })),
);

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

const CLEVERBRIDGE_VALID: Record<string, unknown>[] = [
  'PaidOrderNotification',
  'NewOfflinePaymentPurchaseNotification',
  'RefundNotification',
  'PartialRefundNotification',
  'ChargebackNotification',
  'SubscriptionDeactivatedNotification',
].map((type) => ({
  meta: { id: '900001', type, createdAt: '2026-12-01T12:00:00Z' },
  purchase: {
    id: '700001',
    totalGross: 9.99,
    currencyId: 'USD',
    extraParameters: { 'x-connector-subscription': randomUUID() },
    recurringBilling: { subscriptionId: 'S9073119' },
  },
  refund: { id: '800001', amount: 4.5, currencyId: 'USD' },
  chargeback: { id: '800002' },
}));

export const cleverbridgeWebhook: fc.Arbitrary<WebhookCase> = fc.oneof(
  payload(CLEVERBRIDGE_VALID).map((body) => ({
    signed: true,
    headers: {
      ...JSON_HEADERS,
      authorization: basic(
        SANDBOX_SECRETS.cleverbridgeNotifyUsername,
        SANDBOX_SECRETS.cleverbridgeNotifyPassword,
      ),
    },
    body,
  })),
  fc
    .tuple(
      payload(CLEVERBRIDGE_VALID),
      fc.oneof(
        fc.constant<string | undefined>(undefined),
        fc.constantFrom(
          basic(SANDBOX_SECRETS.cleverbridgeNotifyUsername, 'wrong'),
          basic(SANDBOX_SECRETS.cleverbridgeUsername, SANDBOX_SECRETS.cleverbridgePassword),
          'Basic',
          'Basic !!!',
          'Bearer x',
          basic('', ''),
        ),
      ),
    )
    .map(([body, authorization]) => ({
      signed: false,
      headers: { ...JSON_HEADERS, ...(authorization === undefined ? {} : { authorization }) },
      body,
    })),
);
