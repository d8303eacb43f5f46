import { SANDBOX_SECRETS } from '../sandbox-settings';

/**
 * A shopper-present card `POST /payments` body for the emulator's tests: the sandbox merchant account, 15.00 USD,
 * a test card (adyen-test-cards.ts: the PAN decides the outcome).
 */
export function cardPaymentRequest(reference: string, pan = '4111111111111111') {
  return {
    merchantAccount: SANDBOX_SECRETS.adyenMerchantAccount,
    amount: { value: 1500, currency: 'USD' },
    reference,
    returnUrl: 'https://shop.example/checkout/return',
    paymentMethod: { type: 'scheme', number: pan, expiryMonth: '03', expiryYear: '2030', cvc: '737' },
    shopperInteraction: 'Ecommerce',
  };
}
