import { hmacValidator as HmacValidator } from '@adyen/api-library';
import { WebhookMalformedError, WebhookUnauthenticatedError } from '../../inbox/webhook.errors';
import { parseAdyenNotification } from './adyen.webhook';

/** A notification item as Adyen puts it on the wire (plain strings for the library's enums). */
interface WireNotificationItem {
  pspReference: string;
  originalReference?: string;
  merchantAccountCode: string;
  merchantReference: string;
  amount: { value: number; currency: string };
  eventCode: string;
  success: 'true' | 'false';
  eventDate?: string;
  reason?: string;
  paymentMethod?: string;
  additionalData?: Record<string, string>;
}

const KEY = 'DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00';
const signer = new HmacValidator();

function signed(item: WireNotificationItem, key = KEY) {
  const hmacSignature = signer.calculateHmac(item as never, key);
  return { ...item, additionalData: { ...item.additionalData, hmacSignature } };
}

function body(...items: unknown[]): Buffer {
  return Buffer.from(
    JSON.stringify({ live: 'false', notificationItems: items.map((i) => ({ NotificationRequestItem: i })) }),
  );
}

const base = {
  pspReference: 'PSP0000000000001',
  merchantAccountCode: 'SandboxMerchantECOM',
  merchantReference: '8f098b20-3554-444e-ae98-dad9648dc434',
  amount: { value: 999, currency: 'USD' },
  success: 'true' as const,
  eventDate: '2026-11-23T10:00:00+01:00',
};

describe('parseAdyenNotification', () => {
  it('matches the official HMAC test vector (sanity of the library in use)', () => {
    expect(
      signer.calculateHmac(
        'pspReference:originalReference:merchantAccount:reference:1000:EUR:EVENT:true',
        KEY,
      ),
    ).toBe('ipnxGCaUZ4l8TUW75a71/ghd2Fe5ffvX0pV4TLTntIc=');
  });

  it('normalises AUTHORISATION with token and card data', () => {
    const [event] = parseAdyenNotification(
      body(
        signed({
          ...base,
          eventCode: 'AUTHORISATION',
          additionalData: {
            'tokenization.storedPaymentMethodId': 'TOKEN',
            cardSummary: '1111',
            expiryDate: '3/2030',
            paymentMethod: 'visa',
          },
        }),
      ),
      [KEY],
    );
    expect(event).toMatchObject({
      eventKey: 'PSP0000000000001:AUTHORISATION:true',
      type: 'payment.authorised',
      reference: base.merchantReference,
      externalPaymentId: 'PSP0000000000001',
      token: 'TOKEN',
      card: { lastCardFourDigits: '1111', cardExpirationDate: '03/2030', variant: 'visa' },
    });
  });

  it('maps modifications to the original payment and the modification id', () => {
    const items = [
      signed({ ...base, pspReference: 'CAP1', originalReference: 'PSP0000000000001', eventCode: 'CAPTURE' }),
      signed({
        ...base,
        pspReference: 'CAP1',
        originalReference: 'PSP0000000000001',
        eventCode: 'CAPTURE_FAILED',
      }),
      signed({
        ...base,
        pspReference: 'REF1',
        originalReference: 'PSP0000000000001',
        eventCode: 'REFUND',
        success: 'false',
      }),
      signed({ ...base, pspReference: 'X', eventCode: 'REPORT_AVAILABLE' }),
    ];
    const events = parseAdyenNotification(body(...items), [KEY]);
    expect(events.map((e) => e.type)).toEqual([
      'capture.succeeded',
      'capture.failed',
      'refund.failed',
      'ignored',
    ]);
    expect(events[0]).toMatchObject({
      externalPaymentId: 'PSP0000000000001',
      externalModificationId: 'CAP1',
    });
  });

  it('refuses the whole batch when any item is unsigned or wrongly signed', () => {
    const good = signed({ ...base, eventCode: 'AUTHORISATION' });
    const forged = {
      ...signed({ ...base, eventCode: 'AUTHORISATION' }),
      amount: { value: 1, currency: 'USD' },
    };
    expect(() => parseAdyenNotification(body(good, forged), [KEY])).toThrow(WebhookUnauthenticatedError);
    expect(() => parseAdyenNotification(body({ ...base, eventCode: 'AUTHORISATION' }), [KEY])).toThrow(
      WebhookUnauthenticatedError,
    );
    expect(() =>
      parseAdyenNotification(body(signed({ ...base, eventCode: 'AUTHORISATION' }, 'AB'.repeat(32))), [KEY]),
    ).toThrow(WebhookUnauthenticatedError);
  });

  it('accepts the previous key during a rotation', () => {
    const old = 'CD'.repeat(32);
    expect(
      parseAdyenNotification(body(signed({ ...base, eventCode: 'AUTHORISATION' }, old)), [KEY, old]),
    ).toHaveLength(1);
  });

  it('rejects malformed bodies', () => {
    expect(() => parseAdyenNotification(Buffer.from('nope'), [KEY])).toThrow(WebhookMalformedError);
    expect(() => parseAdyenNotification(Buffer.from('{"notificationItems":[]}'), [KEY])).toThrow(
      WebhookMalformedError,
    );
    expect(() => parseAdyenNotification(body({ pspReference: 1 }), [KEY])).toThrow(WebhookMalformedError);
  });
});
