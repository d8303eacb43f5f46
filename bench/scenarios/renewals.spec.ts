import { adyenBound } from './renewals';

describe('adyenBound (the renewals in flight the app was given)', () => {
  it("is the app's default 8 of 16 without settings", () => {
    expect(adyenBound({})).toBe(8);
  });

  it('reads Adyen from INBOX_GATEWAY_CONCURRENCY_BY_GATEWAY, capped at INBOX_CONCURRENCY', () => {
    expect(adyenBound({ INBOX_CONCURRENCY: '48', INBOX_GATEWAY_CONCURRENCY_BY_GATEWAY: 'adyen=32' })).toBe(
      32,
    );
    expect(
      adyenBound({
        INBOX_CONCURRENCY: '48',
        INBOX_GATEWAY_CONCURRENCY_BY_GATEWAY: 'cleverbridge=4, adyen = 64',
      }),
    ).toBe(48);
  });

  it('falls back to INBOX_GATEWAY_CONCURRENCY when Adyen is not named', () => {
    expect(
      adyenBound({
        INBOX_CONCURRENCY: '64',
        INBOX_GATEWAY_CONCURRENCY: '24',
        INBOX_GATEWAY_CONCURRENCY_BY_GATEWAY: 'cleverbridge=16',
      }),
    ).toBe(24);
  });
});
