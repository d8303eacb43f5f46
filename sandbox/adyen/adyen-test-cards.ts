/**
 * Test cards of the Adyen emulator: the PAN alone decides the outcome (expiry, CVC and holder are echoed, not
 * checked, except that a past expiry date is refused as "Expired Card" like an issuer would).
 *
 * | PAN              | resultCode      | refusalReasonCode / refusalReason | normalised (decline-codes.ts) |
 * |------------------|-----------------|-----------------------------------|-------------------------------|
 * | 4111111111111111 | Authorised      |                                   | approve                       |
 * | 4000000000000002 | Refused         | 2 Refused                         | PAY_DEC                       |
 * | 4000000000009995 | Refused         | 12 Not enough balance             | PAY_CLE                       |
 * | 4000000000000069 | Refused         | 6 Expired Card                    | PAY_CEX                       |
 * | 4000000000000127 | Refused         | 24 CVC Declined                   | PAY_SCO                       |
 * | 4100000000000019 | Refused         | 20 FRAUD                          | FRA_REJ                       |
 * | 4000000000000036 | Refused         | 5 Blocked Card                    | PAY_REJ                       |
 * | 4000000000000119 | Error           | 4 Acquirer Error                  | GW_ERROR                      |
 * | 4000000000003220 | RedirectShopper | 3DS challenge; deny -> 11 3D Not Authenticated | approve / PAY_DEC |
 * | any other PAN    | Authorised if it passes the Luhn check, else 422 errorCode 101 "Invalid card number" |
 *
 * The 3DS card is challenged only for shopper-present payments (`shopperInteraction` Ecommerce or absent);
 * merchant-initiated ContAuth/Moto payments are exempt, as with real SCA.
 */

export type TestCardOutcome =
  | { kind: 'authorised' }
  | { kind: 'refused'; code: string }
  | { kind: 'error'; code: string }
  | { kind: 'challenge' };

/** Adyen refusalReasonCode -> refusalReason (docs.adyen.com/development-resources/refusal-reasons). */
export const REFUSAL_REASONS: Readonly<Record<string, string>> = {
  '2': 'Refused',
  '3': 'Referral',
  '4': 'Acquirer Error',
  '5': 'Blocked Card',
  '6': 'Expired Card',
  '7': 'Invalid Amount',
  '8': 'Invalid Card Number',
  '9': 'Issuer Unavailable',
  '11': '3D Not Authenticated',
  '12': 'Not enough balance',
  '14': 'Acquirer Fraud',
  '20': 'FRAUD',
  '22': 'FRAUD-CANCELLED',
  '24': 'CVC Declined',
  '25': 'Restricted Card',
  '27': 'Declined Non Generic',
  '28': 'Withdrawal amount exceeded',
  '29': 'Withdrawal count exceeded',
  '31': 'Issuer Suspected Fraud',
};

export function refusalReason(code: string): string {
  return REFUSAL_REASONS[code] ?? 'Refused';
}

export const THREE_DS_TEST_CARD = '4000000000003220';

export const ADYEN_TEST_CARDS: Readonly<Record<string, TestCardOutcome>> = {
  '4111111111111111': { kind: 'authorised' },
  '4000000000000002': { kind: 'refused', code: '2' },
  '4000000000009995': { kind: 'refused', code: '12' },
  '4000000000000069': { kind: 'refused', code: '6' },
  '4000000000000127': { kind: 'refused', code: '24' },
  '4100000000000019': { kind: 'refused', code: '20' },
  '4000000000000036': { kind: 'refused', code: '5' },
  '4000000000000119': { kind: 'error', code: '4' },
  [THREE_DS_TEST_CARD]: { kind: 'challenge' },
};

export function isTestCard(pan: string): boolean {
  return Object.prototype.hasOwnProperty.call(ADYEN_TEST_CARDS, pan);
}

export function luhnValid(pan: string): boolean {
  if (!/^\d{12,19}$/.test(pan)) {
    return false;
  }
  let sum = 0;
  for (let i = 0; i < pan.length; i++) {
    let digit = Number(pan[pan.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) {
        digit -= 9;
      }
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** Outcome by PAN alone; undefined means "not a usable card number" (422 Invalid card number). */
export function testCardOutcome(pan: string): TestCardOutcome | undefined {
  const known = ADYEN_TEST_CARDS[pan];
  if (known) {
    return known;
  }
  return luhnValid(pan) ? { kind: 'authorised' } : undefined;
}

/** Adyen's card variant names (`additionalData.paymentMethod`, `paymentMethod.brand`). */
export function cardBrand(pan: string): string {
  const two = Number(pan.slice(0, 2));
  const four = Number(pan.slice(0, 4));
  if (pan.startsWith('4')) {
    return 'visa';
  }
  if ((two >= 51 && two <= 55) || (four >= 2221 && four <= 2720)) {
    return 'mc';
  }
  if (two === 34 || two === 37) {
    return 'amex';
  }
  if (pan.startsWith('6011') || pan.startsWith('65')) {
    return 'discover';
  }
  if (two === 35) {
    return 'jcb';
  }
  if (two === 36 || two === 38 || two === 30) {
    return 'diners';
  }
  if (two === 62) {
    return 'cup';
  }
  if (pan.startsWith('5') || pan.startsWith('6')) {
    return 'maestro';
  }
  return 'scheme';
}

/**
 * Adyen's test-environment stand-in for client-side encryption: `test_<plain value>`
 * (`encryptedCardNumber: "test_4111111111111111"`, `encryptedExpiryMonth: "test_03"`). Anything else cannot be
 * decrypted by the emulator.
 */
export function decryptTestValue(encrypted: string): string | undefined {
  const match = /^test_(.+)$/.exec(encrypted);
  return match?.[1];
}

/** True when the card's last valid day (end of expiry month) is before `now`. */
export function isExpired(expiryMonth: string, expiryYear: string, now: Date): boolean {
  const month = Number(expiryMonth);
  let year = Number(expiryYear);
  if (!Number.isInteger(month) || !Number.isInteger(year) || month < 1 || month > 12) {
    return false;
  }
  if (year < 100) {
    year += 2000;
  }
  // Date.UTC(year, month) is the first instant of the month after expiry (months are 0-based).
  return now.getTime() >= Date.UTC(year, month);
}
