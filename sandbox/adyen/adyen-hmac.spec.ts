import { hmacValidator } from '@adyen/api-library';
import { NotificationRequestItem } from '@adyen/api-library/lib/src/typings/notification/models';
import { SANDBOX_SECRETS } from '../sandbox-settings';
import { adyenHmacPayload, adyenHmacSignature, signAdyenItem } from './adyen-hmac';
import { AdyenSandboxEvent } from './adyen-sandbox.store';
import { toNotificationItem } from './adyen-webhook.emitter';

// Official vectors: Adyen/adyen-node-api-library src/__tests__/hmacValidator.spec.ts (external-apis.md)
const OFFICIAL_KEY = 'DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00';

const capture: AdyenSandboxEvent = {
  eventCode: 'CAPTURE',
  pspReference: 'QFQTPCQ8HXSKGK82',
  originalReference: 'V4HZ4RBFJGXXGN82',
  merchantAccountCode: SANDBOX_SECRETS.adyenMerchantAccount,
  merchantReference: 'capture-attempt-1',
  amount: { value: 999, currency: 'USD' },
  success: true,
  paymentMethod: 'visa',
  eventDate: '2026-01-01T10:00:00.000Z',
};

describe('Adyen notification HMAC (our implementation)', () => {
  it('reproduces the official test vectors', () => {
    expect(
      adyenHmacSignature(
        'pspReference:originalReference:merchantAccount:reference:1000:EUR:REPORT_AVAILABLE:true',
        OFFICIAL_KEY,
      ),
    ).toBe('ZNBPtI+oDyyRrLyD1XirkKnQgIAlFc07Vj27TeHsDRE=');
    expect(
      adyenHmacSignature(
        'pspReference:originalReference:merchantAccount:reference:1000:EUR:EVENT:true',
        OFFICIAL_KEY,
      ),
    ).toBe('ipnxGCaUZ4l8TUW75a71/ghd2Fe5ffvX0pV4TLTntIc=');
  });

  it('builds the signing string from an item in Adyen order, missing fields as empty strings', () => {
    const item = {
      pspReference: 'pspReference',
      originalReference: 'originalReference',
      merchantAccountCode: 'merchantAccount',
      merchantReference: 'reference',
      amount: { value: 1000, currency: 'EUR' },
      eventCode: 'EVENT',
      success: 'true',
    };
    expect(adyenHmacPayload(item)).toBe(
      'pspReference:originalReference:merchantAccount:reference:1000:EUR:EVENT:true',
    );
    expect(signAdyenItem(item, OFFICIAL_KEY)).toBe('ipnxGCaUZ4l8TUW75a71/ghd2Fe5ffvX0pV4TLTntIc=');
    const { originalReference: _none, ...withoutOriginal } = item;
    expect(adyenHmacPayload(withoutOriginal)).toBe(
      'pspReference::merchantAccount:reference:1000:EUR:EVENT:true',
    );
    expect(signAdyenItem(withoutOriginal, OFFICIAL_KEY)).toBe('Xw3x2gbK3QTzyYmek77wqaLPAOCgWicWKKSSDo07mQk=');
  });

  it('refuses a key that is not hex', () => {
    expect(() => adyenHmacSignature('x', 'not-hex')).toThrow('hex');
  });
});

describe('Adyen notification HMAC (cross-checked with @adyen/api-library)', () => {
  const validator = new hmacValidator();
  const key = SANDBOX_SECRETS.adyenHmacKey;
  const asLibraryItem = (item: object): NotificationRequestItem => item as NotificationRequestItem;

  it('signs emulator events so the official validator accepts them', () => {
    const events: AdyenSandboxEvent[] = [
      capture,
      {
        ...capture,
        eventCode: 'AUTHORISATION',
        originalReference: undefined,
        pspReference: 'V4HZ4RBFJGXXGN82',
      },
      {
        ...capture,
        eventCode: 'REFUND_FAILED',
        reason: 'Refund failed',
        amount: { value: 1, currency: 'KWD' },
      },
      { ...capture, eventCode: 'AUTHORISATION', success: false, amount: { value: 0, currency: 'JPY' } },
    ];
    for (const event of events) {
      const item = toNotificationItem(event, key);
      expect(validator.validateHMAC(asLibraryItem(item), key)).toBe(true);
      expect(item.additionalData.hmacSignature).toBe(validator.calculateHmac(asLibraryItem(item), key));
    }
  });

  it('is rejected by the official validator when a signed field changes or the key differs', () => {
    const item = toNotificationItem(capture, key);
    expect(
      validator.validateHMAC(asLibraryItem({ ...item, amount: { value: 1000, currency: 'USD' } }), key),
    ).toBe(false);
    expect(validator.validateHMAC(asLibraryItem({ ...item, success: 'false' }), key)).toBe(false);
    expect(validator.validateHMAC(asLibraryItem(item), OFFICIAL_KEY)).toBe(false);
    // fields outside the signed eight do not matter
    expect(validator.validateHMAC(asLibraryItem({ ...item, reason: 'changed', eventDate: 'x' }), key)).toBe(
      true,
    );
  });

  it('maps an event to the standard item shape: success as a string, amount in minor units', () => {
    const item = toNotificationItem(capture, key);
    expect(item).toEqual({
      additionalData: { hmacSignature: expect.any(String) },
      amount: { value: 999, currency: 'USD' },
      eventCode: 'CAPTURE',
      eventDate: '2026-01-01T10:00:00.000Z',
      merchantAccountCode: 'SandboxMerchantECOM',
      merchantReference: 'capture-attempt-1',
      originalReference: 'V4HZ4RBFJGXXGN82',
      paymentMethod: 'visa',
      pspReference: 'QFQTPCQ8HXSKGK82',
      success: 'true',
    });
    expect(toNotificationItem({ ...capture, success: false }, key).success).toBe('false');
  });
});
