import 'reflect-metadata';
import { hmacValidator as HmacValidator } from '@adyen/api-library';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Money } from '../../common/money/money';
import { WebhookUnauthenticatedError } from '../../inbox/webhook.errors';
import { AdyenSpecValidator } from '../../../sandbox/adyen/adyen-spec.validator';
import { GatewayRequestRejectedError } from '../gateway.errors';
import { capabilityMismatches } from '../gateway-operations';
import { RebillInput } from '../gateway.provider';
import { AdyenGateway } from './adyen.gateway';
import { AdyenEnv, adyenOptions, AdyenOptions } from './adyen.options';

const CURRENT_KEY = 'DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00';
const PREVIOUS_KEY = '44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056';
const OTHER_KEY = '00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF';
const spec = new AdyenSpecValidator();
const signer = new HmacValidator();

function env(overrides: Partial<AdyenEnv> = {}): AdyenEnv {
  return Object.assign(new AdyenEnv(), {
    ADYEN_API_URL: 'http://127.0.0.1:1/v71/',
    ADYEN_API_KEY: 'key',
    ADYEN_MERCHANT_ACCOUNT: 'TestMerchant',
    ADYEN_HMAC_KEY: CURRENT_KEY,
    ...overrides,
  });
}

function gateway(options: Partial<AdyenOptions> = {}): AdyenGateway {
  return new AdyenGateway(
    { gatewayTimeoutMs: 1_000, publicUrl: 'https://connector.example' },
    { ...adyenOptions(env()), ...options },
  );
}

function notification(key: string): Buffer {
  const item = {
    pspReference: 'PSP0000000000001',
    merchantAccountCode: 'TestMerchant',
    merchantReference: '8f098b20-3554-444e-ae98-dad9648dc434',
    amount: { value: 999, currency: 'USD' },
    eventCode: 'AUTHORISATION',
    success: 'true',
    eventDate: '2026-11-23T10:00:00+01:00',
  };
  const hmacSignature = signer.calculateHmac(item as never, key);
  return Buffer.from(
    JSON.stringify({
      live: 'false',
      notificationItems: [{ NotificationRequestItem: { ...item, additionalData: { hmacSignature } } }],
    }),
  );
}

describe('Adyen options', () => {
  it('trims the API URL and lists the previous HMAC key only during a rotation', () => {
    expect(adyenOptions(env())).toMatchObject({ apiUrl: 'http://127.0.0.1:1/v71', hmacKeys: [CURRENT_KEY] });
    expect(adyenOptions(env({ ADYEN_HMAC_KEY_PREVIOUS: PREVIOUS_KEY })).hmacKeys).toEqual([
      CURRENT_KEY,
      PREVIOUS_KEY,
    ]);
  });
});

describe('AdyenGateway', () => {
  it('accepts notifications signed with the previous HMAC key while it is configured, and no other', () => {
    const rotating = gateway({ hmacKeys: [CURRENT_KEY, PREVIOUS_KEY] });
    expect(rotating.parseWebhook({}, notification(CURRENT_KEY))).toHaveLength(1);
    expect(rotating.parseWebhook({}, notification(PREVIOUS_KEY))).toHaveLength(1);
    expect(() => rotating.parseWebhook({}, notification(OTHER_KEY))).toThrow(WebhookUnauthenticatedError);
    expect(() => gateway().parseWebhook({}, notification(PREVIOUS_KEY))).toThrow(WebhookUnauthenticatedError);
  });

  it('its capabilities match its operations', () => {
    expect(capabilityMismatches(gateway())).toEqual([]);
    expect(capabilityMismatches(gateway({ zeroAuth: false }))).toEqual([]);
  });

  it('picks redirectResult from the return query or form body', () => {
    const g = gateway();
    expect(g.returnDetails({ query: { redirectResult: 'abc' }, body: undefined })).toEqual({
      details: { redirectResult: 'abc' },
    });
    expect(g.returnDetails({ query: {}, body: { redirectResult: 'def' } })).toEqual({
      details: { redirectResult: 'def' },
    });
    expect(g.returnDetails({ query: { other: 'x' }, body: undefined })).toEqual({
      errors: [{ field: 'redirectResult', messages: ['is required'] }],
    });
  });

  it('a connector-managed subscription needs a stored card', () => {
    expect(gateway().validateSubscription({ hasStoredToken: true })).toEqual([]);
    expect(gateway().validateSubscription({ hasStoredToken: false })).toEqual([
      { field: 'paymentDetailsId', messages: ['is required for Adyen (the stored card to charge)'] },
    ]);
  });

  describe('rebill (HTTP)', () => {
    let server: Server;
    let baseUrl: string;
    const captured: { url?: string; headers: IncomingMessage['headers']; body: unknown }[] = [];

    beforeAll(async () => {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          captured.push({
            url: req.url,
            headers: req.headers,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
          });
          res.writeHead(200, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              pspReference: 'PSP0000000000042',
              resultCode: 'Authorised',
              merchantReference: 'att-1',
              amount: { value: 999, currency: 'USD' },
            }),
          );
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v71`;
    });

    afterAll(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    const input: RebillInput = {
      idempotencyKey: 'att-1:1',
      reference: 'att-1',
      amount: Money.of(999, 'USD'),
      customer: { reference: 'shopper-1' },
      token: 'STORED-TOKEN-1',
      periodStart: new Date('2030-01-31T12:00:00.000Z'),
    };

    it('charges the stored token merchant-initiated (ContAuth, Subscription) under the attempt key, spec-valid', async () => {
      const result = await gateway({ apiUrl: baseUrl }).rebill(input);
      expect(result).toMatchObject({ status: 'captured', externalPaymentId: 'PSP0000000000042' });
      const [call] = captured;
      expect(call?.url).toBe('/v71/payments');
      expect(call?.headers['idempotency-key']).toBe('att-1:1');
      expect(call?.body).toMatchObject({
        amount: { value: 999, currency: 'USD' },
        merchantAccount: 'TestMerchant',
        reference: 'att-1',
        paymentMethod: { type: 'scheme', storedPaymentMethodId: 'STORED-TOKEN-1' },
        shopperReference: 'shopper-1',
        shopperInteraction: 'ContAuth',
        recurringProcessingModel: 'Subscription',
        captureDelayHours: 0,
      });
      expect(spec.validate('post', '/payments', call?.body, { 'idempotency-key': 'att-1:1' })).toEqual([]);
    });

    it('refuses to rebill without a token, before any call', async () => {
      const before = captured.length;
      const { token: _token, ...withoutToken } = input;
      await expect(gateway({ apiUrl: baseUrl }).rebill(withoutToken)).rejects.toBeInstanceOf(
        GatewayRequestRejectedError,
      );
      expect(captured).toHaveLength(before);
    });
  });
});
